"""Logging: one JSON object per line (SANSHEN_LOG_FORMAT=json) or plain text, with the ids of
what is being worked on.

    with log_context(publication_id=7, channel="wechat"):
        log.info("sent")   # {"ts": "...Z", "level": "INFO", ..., "publication_id": 7, ...}

`setup(fmt)` installs one handler on the root logger; the worker (Celery's setup_logging
signal), the scheduler and the API call it at start-up. Secrets stay out: SecretStr prints as
stars, and key=/token=/password= values and bearer tokens are masked in every line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Any

CONTEXT_IDS = ("submission_id", "version_id", "channel", "publication_id")
_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "sanshen_log_context", default=MappingProxyType({})
)
# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_SECRET_PARAM = re.compile(
    r"(?i)\b(key|token|access_token|secret|password|passwd|signature)=([^&\s\"']+)"
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_API_TOKEN = re.compile(r"\bssp_[A-Za-z0-9_-]{8,}")
_SECRET_FIELD = re.compile(r"(?i)(password|secret|token|credential|private_key)")


def redact(text: str) -> str:
    text = _SECRET_PARAM.sub(r"\1=***", text)
    text = _BEARER.sub(r"\1 ***", text)
    return _API_TOKEN.sub("ssp_***", text)


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Add ids to every line logged inside the block (in this thread or task); None is skipped."""
    merged = {**_context.get(), **_known(ids)}  # this block's own dict: `bind` adds to it
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def bind(**ids: Any) -> None:
    """Add ids, once they are known, to the innermost `log_context` block (its end takes them
    away again); outside any block this does nothing."""
    current = _context.get()
    if isinstance(current, dict):
        current.update(_known(ids))


def _known(ids: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ids.items() if v is not None}


def current_context() -> Mapping[str, Any]:
    return _context.get()


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return redact(str(value))  # SecretStr renders as stars here


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (UTC), level, logger, message, the context ids, extras."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update({k: _jsonable(v) for k, v in current_context().items()})
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = "***" if _SECRET_FIELD.search(key) else _jsonable(value)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The plain format, with the context ids at the end of the line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record))
        ids = " ".join(f"{k}={v}" for k, v in current_context().items())
        return f"{line} [{ids}]" if ids else line


def configured_format() -> str:
    """json or text: the setting SANSHEN_LOG_FORMAT."""
    from orchestrator.settings import get_settings

    return get_settings().log_format


def setup(
    fmt: str | None = None,
    level: int | str = logging.INFO,
    stream: IO[str] | None = None,
    logfile: str | None = None,
) -> logging.Handler:
    """Replace the root logger's handlers with one that writes `fmt` lines to `logfile`, else
    to `stream` (standard error by default)."""
    fmt = fmt or configured_format()
    handler: logging.Handler = (
        logging.FileHandler(logfile, encoding="utf-8")
        if logfile
        else logging.StreamHandler(stream or sys.stderr)
    )
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.set_name("sanshen")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if old.get_name() == "sanshen":  # ours (perhaps a file): closed; others are not ours
            old.close()
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler


def uvicorn_config(fmt: str | None = None, level: str = "INFO") -> dict[str, Any]:
    """A logging dictConfig for uvicorn (`uvicorn.run(..., log_config=...)`, or written to a
    .json file for `uvicorn --log-config`): uvicorn's own loggers go through our formatter."""
    fmt = fmt or configured_format()
    formatter = "JsonFormatter" if fmt == "json" else "TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"sanshen": {"()": f"orchestrator.logs.{formatter}"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "sanshen",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
