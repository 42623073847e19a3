"""The worker `sanshen up` starts sends heartbeats, so Flower (and anything reading Celery's
events) shows it online: Flower marks a worker offline when no `worker-heartbeat` arrives."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from celery.events.state import State

from orchestrator import redis_embedded
from orchestrator.devstack import Processes, worker_argv


def test_the_worker_command_keeps_heartbeats_and_events() -> None:
    argv = worker_argv(1, ())
    assert "--without-heartbeat" not in argv
    assert "-E" in argv  # heartbeats travel as events
    assert {"--without-gossip", "--without-mingle"} <= set(argv)


@pytest.fixture
def redis_url() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="shb-", dir="/tmp"))
    yield redis_embedded.ensure_running(folder)
    redis_embedded.stop(folder)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_started_worker_is_alive_for_an_event_monitor(redis_url: str, tmp_path: Path) -> None:
    """What Flower does: feed every event into celery's `State` and ask which workers are
    alive (a heartbeat within the expiry window)."""
    env = {
        "SANSHEN_DATA_DIR": str(tmp_path / "data"),
        "SANSHEN_REDIS_URL": redis_url,
        "SANSHEN_KDF_PROFILE": "min",
    }
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    monitor = Celery("heartbeat-test", broker=redis_url, set_as_current=False)
    state = State()
    procs = Processes(tmp_path / "logs", env)
    try:
        with monitor.connection_for_read() as conn:
            receiver = monitor.events.Receiver(conn, handlers={"*": state.event})
            with receiver.consumer_context() as (connection, _channel, _consumers):
                procs.start("worker", worker_argv(1, ()))
                deadline = time.monotonic() + 45
                while not list(state.alive_workers()) and time.monotonic() < deadline:
                    assert procs.alive("worker"), procs.log("worker")
                    with contextlib.suppress(TimeoutError):
                        connection.drain_events(timeout=0.5)
    finally:
        procs.stop_all()
        monitor.close()
    alive = [worker.hostname for worker in state.alive_workers()]
    assert alive, f"no heartbeat from the worker\n{procs.log('worker')[-2000:]}"
