"""Structured logs: one JSON object per line, with the ids of the work in hand, and no secrets;
the real worker and scheduler write them when SANSHEN_LOG_FORMAT=json."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from orchestrator import logs
from tests.pipeline.conftest import Stack


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("sanshen.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)


def entries(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_one_json_object_per_line_with_the_context_ids(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    log, buffer = lines
    with logs.log_context(submission_id=4, version_id=9):
        with logs.log_context(channel="wechat", publication_id=12):
            log.info("已发送\n第二行 %s", "《标题》")
        log.warning("outer")
    log.error("none")
    inner, outer, bare = entries(buffer)
    assert inner["message"] == "已发送\n第二行 《标题》"
    assert (inner["level"], inner["logger"]) == ("INFO", "sanshen.test-logs")
    assert {k: inner[k] for k in logs.CONTEXT_IDS} == {
        "submission_id": 4,
        "version_id": 9,
        "channel": "wechat",
        "publication_id": 12,
    }
    assert inner["ts"].endswith("Z")
    assert datetime.fromisoformat(inner["ts"]).tzinfo == UTC
    assert "channel" not in outer and outer["version_id"] == 9
    assert not set(logs.CONTEXT_IDS) & set(bare)


def test_context_ids_stay_in_their_thread(lines: tuple[logging.Logger, io.StringIO]) -> None:
    log, buffer = lines
    with logs.log_context(publication_id=1):
        other = threading.Thread(target=lambda: log.info("elsewhere"))
        other.start()
        other.join()
    assert "publication_id" not in entries(buffer)[0]


def test_secrets_never_reach_a_line(lines: tuple[logging.Logger, io.StringIO]) -> None:
    log, buffer = lines
    log.info(
        "robot %s, password %s, header Bearer ssp_abcdefghijklmnopqrstuvwxyz, %s",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key-123",
        SecretStr("hunter2"),
        "/callbacks/wechat?signature=abc123&timestamp=1",
        extra={"password": "hunter2", "api_token": "t0ken", "attempt": 2},
    )
    try:
        raise RuntimeError("connect to https://x/?access_token=leaked-token failed")
    except RuntimeError:
        log.exception("call failed")
    text = buffer.getvalue()
    for secret in ("robot-key-123", "hunter2", "abcdefghijklmnop", "abc123", "t0ken", "leaked"):
        assert secret not in text
    first, second = entries(buffer)
    assert first["attempt"] == 2 and first["password"] == "***"
    assert "RuntimeError" in second["exc"]


def test_setup_replaces_the_root_handlers(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    try:
        buffer = io.StringIO()
        logs.setup("json", level="WARNING", stream=buffer)
        logs.setup("json", level="WARNING", stream=buffer)  # twice: still one line per record
        logging.getLogger("sanshen.any").warning("一次")
        logging.getLogger("sanshen.any").info("filtered out")
        assert [e["message"] for e in entries(buffer)] == ["一次"]
        logs.setup("text", logfile=str(tmp_path / "worker.log"))  # Celery's --logfile
        logging.getLogger("sanshen.any").info("到文件")
        logs.setup("text", stream=buffer)  # closes the file
        assert "INFO sanshen.any 到文件" in (tmp_path / "worker.log").read_text(encoding="utf-8")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(level)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_the_worker_and_scheduler_write_json_with_the_publication_ids(stack: Stack) -> None:
    stack.env["SANSHEN_LOG_FORMAT"] = "json"
    # The worker logs at WARNING: a refusal by the platform is what it writes.
    stack.sims.simulator("suishenban").faults.update({"rates": {"content_rejected": 1.0}})
    stack.start("worker", concurrency=1)
    stack.start("scheduler")
    sub = stack.signed_off(("suishenban",))
    stack.wait_for(lambda: stack.settled(sub), timeout=40, what="refused")
    (pub,) = stack.publications(sub)
    assert pub.state == "failed"
    stack.kill("worker", 15)
    stack.kill("scheduler", 15)
    sent = [e for e in json_lines(stack.log("worker")) if e["logger"] == "sanshen.publishing"]
    assert sent, stack.log("worker")
    assert {
        (e["submission_id"], e["version_id"], e["channel"], e["publication_id"]) for e in sent
    } == {(pub.submission_id, pub.version_id, "suishenban", pub.id)}
    scheduler = json_lines(stack.log("scheduler"))
    assert any(e["logger"] == "sanshen.scheduler" for e in scheduler), stack.log("scheduler")
    for text in (stack.log("worker"), stack.log("scheduler")):  # whatever is JSON-like parses
        assert all(json.loads(line) for line in text.splitlines() if line.startswith("{"))
