FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
COPY gate ./gate
COPY channels ./channels
COPY tasks ./tasks
RUN pip install --no-cache-dir . 'psycopg[binary]>=3.1'
USER nobody
ENV SANSHEN_DATA_DIR=/data
CMD ["sanshen", "--help"]
