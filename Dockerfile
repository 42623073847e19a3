# The application image: API and console, workers, scheduler, flower, simulators (one image).
#   docker build -t sanshen-publish .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SANSHEN_DATA_DIR=/data

# fonts-wqy-zenhei: the CJK font embedded in the generated PDFs (审批表, 月度通报).
# A non-root user owns /data, so a fresh named volume mounted there is writable.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-zenhei \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin sanshen \
    && mkdir -p /data \
    && chown sanshen:sanshen /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gate ./gate
COPY channels ./channels
COPY orchestrator ./orchestrator
COPY tasks ./tasks
# Runtime dependencies only (no test extra); flower for the task monitor. The import check
# fails the build if the `flower` extra ever stops installing it.
RUN pip install --no-cache-dir ".[flower]" \
    && python -c "import flower, orchestrator.cli" \
    && rm -rf /app/build

USER 10001:10001
EXPOSE 8000
CMD ["sanshen", "--help"]
