"""The scheduler's loops through a broker outage: one warning when Redis goes away, one line
when it is back, no traceback each round; any other failure still logs its traceback."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from celery import Celery
from kombu.exceptions import OperationalError
from redis.backoff import NoBackoff
from redis.retry import Retry

from orchestrator import redis_embedded
from orchestrator.settings import get_settings

OUTAGE = "消息队列（Redis）连接中断"
BACK = "消息队列已恢复"


@pytest.fixture
def scheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """tasks.scheduler, imported without starting an embedded Redis (the URL is set)."""
    monkeypatch.setenv("SANSHEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SANSHEN_REDIS_URL", "redis://127.0.0.1:9/15")
    get_settings.cache_clear()
    from tasks import scheduler as module

    yield module
    get_settings.cache_clear()


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


def run_rounds(scheduler: ModuleType, outcomes: list[Exception | None], name: str = "t") -> None:
    """`every` over a work function that raises or returns as `outcomes` says, round by round."""
    stop = threading.Event()
    queue = list(outcomes)

    def work() -> int:
        outcome = queue.pop(0)
        if not queue:
            stop.set()
        if outcome is not None:
            raise outcome
        return 0

    scheduler.every(stop, 0.0, work, name)


def test_one_warning_per_outage_and_one_line_when_back(
    scheduler: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    down = OperationalError("Error 111 connecting to unix socket: Connection refused.")
    caplog.set_level(logging.INFO, logger="sanshen.scheduler")
    run_rounds(scheduler, [None, down, down, down, None, None, down, down, None])
    warnings = lines(caplog, OUTAGE)
    assert len(warnings) == 2  # two outages
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in warnings)
    assert "OperationalError" in warnings[0].getMessage()
    assert "恢复后自动继续" in warnings[0].getMessage()
    assert len(lines(caplog, BACK)) == 2
    assert [r for r in caplog.records if r.exc_info] == []


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ConnectionRefusedError(111, "Connection refused"), id="socket"),
        pytest.param(
            __import__("redis").exceptions.ConnectionError("Error 2 connecting"), id="redis-py"
        ),
    ],
)
def test_the_other_connection_errors_count_as_an_outage(
    scheduler: ModuleType, caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    caplog.set_level(logging.INFO, logger="sanshen.scheduler")
    run_rounds(scheduler, [error, error, None])
    assert len(lines(caplog, OUTAGE)) == 1 and len(lines(caplog, BACK)) == 1


def test_any_other_failure_keeps_its_traceback(
    scheduler: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sanshen.scheduler")
    run_rounds(scheduler, [ValueError("bad row"), ValueError("bad row"), None])
    failed = [r for r in caplog.records if "round failed" in r.getMessage()]
    assert len(failed) == 2 and all(r.exc_info for r in failed)
    assert lines(caplog, OUTAGE) == [] and lines(caplog, BACK) == []


def test_the_loops_share_one_outage(
    scheduler: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    """Every loop finds the broker gone; the outage is still one warning."""
    caplog.set_level(logging.INFO, logger="sanshen.scheduler")
    outage = scheduler.BrokerOutage()
    down = OperationalError("gone")
    for loop in ("dispatch", "reconcile", "alerts"):
        outage.failed(loop, down)
    outage.succeeded("bulletin")  # a loop that never saw it gone proves nothing
    outage.succeeded("dispatch")
    outage.succeeded("reconcile")
    assert len(lines(caplog, OUTAGE)) == 1 and len(lines(caplog, BACK)) == 1


# --- a real Redis, stopped and started again --------------------------------------------------


@pytest.fixture
def redis_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="sso-", dir="/tmp"))
    redis_embedded.ensure_running(folder)
    yield folder
    redis_embedded.stop(folder)
    shutil.rmtree(folder, ignore_errors=True)


def enqueue_and_stamp(url: str) -> tuple[Callable[[], Any], Callable[[], None]]:
    """A dispatch round's broker traffic: a task message through kombu (as `enqueue` sends
    one) and the round's stamp through redis-py (as `marking` writes it)."""
    celery = Celery("outage-test", broker=url, set_as_current=False)
    celery.conf.broker_connection_retry = False
    stamps = redis_embedded.client(url, socket_timeout=1, retry=Retry(NoBackoff(), 0))

    def work() -> int:
        celery.send_task("sanshen.publish", args=[1], queue="outage-test", retry=False)
        stamps.set("outage-test:round", time.time())
        return 0

    def close() -> None:  # no socket left for the garbage collector to warn about
        stamps.close()
        celery.close()

    return work, close


def test_a_redis_restart_gives_one_warning_and_one_recovery_line(
    scheduler: ModuleType, redis_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = redis_embedded.url_for(redis_folder)
    caplog.set_level(logging.INFO, logger="sanshen.scheduler")
    stop = threading.Event()
    rounds: list[float] = []
    work, close = enqueue_and_stamp(url)

    def counted() -> Any:
        try:
            return work()
        finally:
            rounds.append(time.monotonic())

    loop = threading.Thread(target=scheduler.every, args=(stop, 0.05, counted, "dispatch"))
    loop.start()
    try:
        wait_until(lambda: len(rounds) >= 3)
        redis_embedded.stop(redis_folder)
        wait_until(lambda: bool(lines(caplog, OUTAGE)))
        seen = len(rounds)
        # more failed rounds (kombu takes seconds to give up on each), still one line
        wait_until(lambda: len(rounds) >= seen + 2, timeout=60)
        redis_embedded.ensure_running(redis_folder)
        wait_until(lambda: bool(lines(caplog, BACK)))
    finally:
        stop.set()
        loop.join(timeout=30)
        close()
    assert len(lines(caplog, OUTAGE)) == 1, [r.getMessage() for r in caplog.records]
    assert len(lines(caplog, BACK)) == 1
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
