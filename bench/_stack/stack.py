"""The whole stack in a temporary folder: Redis, the database, the simulators, the worker
and the scheduler, torn down on any exit (error, Ctrl-C, SIGTERM)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bench._stack.bare import bare_worker_argv
from bench._stack.basics import ALL_CHANNELS, REPO, say
from bench._stack.simulators import SimulatorProcess


def _raise_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


@dataclass
class Row:
    id: int
    channel: str
    state: str
    key: str
    scheduled_at: datetime


class Stack:
    """One stack in /tmp/ssb-<name>-*; `with Stack(...) as stack:` cleans it all up."""

    def __init__(
        self,
        name: str,
        *,
        settings: Mapping[str, str] | None = None,
        faults: dict[str, dict[str, Any]] | None = None,
        channel_overrides: Mapping[str, Any] | None = None,
        keep: bool = False,
    ) -> None:
        self.name = name
        self.overrides = dict(settings or {})
        self.channel_overrides = dict(channel_overrides or {})
        self.keep = keep
        self.sims = SimulatorProcess(faults)
        self.root = Path(tempfile.mkdtemp(prefix=f"ssb-{name}-", dir="/tmp"))
        self.env: dict[str, str] = {}
        self.redis_url = ""
        self.procs: Any = None
        self.worker_extra: list[str] = []  # e.g. ["-P", "threads"]
        self.concurrency: int | None = None  # both workers' pool; None: the product's default
        self.app: Any = None
        self._saved_env = dict(os.environ)

    # setup and teardown

    def __enter__(self) -> Stack:
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _setup(self) -> None:
        self.sims.start()
        from orchestrator import redis_embedded

        self.redis_url = redis_embedded.ensure_running(self.root)
        say(f"stack in {self.root}; redis {self.redis_url}")
        from orchestrator.devstack import Processes, simulator_env

        channel_settings = {
            name: values | self.channel_overrides for name, values in self.sims.settings.items()
        }
        self.env = (
            {
                "SANSHEN_DATA_DIR": str(self.root / "data"),
                "SANSHEN_REDIS_URL": self.redis_url,
                "SANSHEN_KDF_PROFILE": "min",
                "SANSHEN_DEFAULT_PUBLISH_TIME": "00:00",
                "PYTHONPATH": str(REPO),
            }
            | simulator_env(channel_settings)
            | self.overrides
        )
        os.environ.update(self.env)
        from orchestrator.app import App
        from orchestrator.demo import ensure_organisation
        from orchestrator.migrate import upgrade
        from orchestrator.settings import Settings, get_settings

        get_settings.cache_clear()
        self.app = App(Settings())
        upgrade(self.app.db)
        ensure_organisation(self.app)
        self.procs = Processes(self.root / "logs", self.env)

    def close(self) -> None:
        if self.procs is not None:
            for name in list(self.procs.procs):
                with contextlib.suppress(Exception):
                    self.procs.kill(name, signal.SIGTERM, timeout=15)
        self.sims.stop()
        if self.app is not None:
            with contextlib.suppress(Exception):
                self.app.db.dispose()
        from orchestrator import redis_embedded

        with contextlib.suppress(Exception):
            redis_embedded.stop(self.root)
        os.environ.clear()
        os.environ.update(self._saved_env)
        if self.keep:
            say(f"kept {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    # processes

    def start(self, what: str) -> None:
        from orchestrator.devstack import scheduler_argv, worker_argv

        argv = {
            "worker": worker_argv(self.concurrency, ALL_CHANNELS) + self.worker_extra,
            "scheduler": scheduler_argv(),
            "bare": bare_worker_argv(self.concurrency) + self.worker_extra,
        }[what]
        self.procs.start(what, argv)

    def kill(self, what: str, sig: int = signal.SIGKILL) -> None:
        self.procs.kill(what, sig)

    def pid(self, what: str) -> int:
        return int(self.procs.procs[what].pid)

    def log(self, what: str) -> str:
        return str(self.procs.log(what))

    def redis(self) -> Any:
        from orchestrator.redis_embedded import client

        return client(self.redis_url)

    def wait_worker_ready(self, timeout: float = 60) -> None:
        """A warm worker: answers a ping, each pool process has built its publisher."""
        from tasks.app import app as celery

        deadline = time.monotonic() + timeout
        while not celery.control.ping(timeout=0.5):
            if time.monotonic() > deadline or not self.procs.alive("worker"):
                raise RuntimeError("worker not ready:\n" + self.log("worker")[-3000:])
        for _ in range(6):  # unknown ids: each answers "missing" after building the publisher
            celery.send_task("sanshen.publish", args=[-1], queue="publish.gov_website")
        time.sleep(1.0)

    # content

    def sign_off(
        self, count: int, channels: tuple[str, ...] = ALL_CHANNELS, publish_date: date | None = None
    ) -> float:
        """`count` items through every review stage; returns the seconds it took. An item for
        own and upward platforms is signed off as two submissions, one for each: in one, the
        own rows would wait for the upward adoption (upward first), and these benches measure
        the sending."""
        from orchestrator.demo import demo_draft, submit_and_sign_off
        from orchestrator.services.dispatch import upward_first

        own = upward_first(channels)
        groups = [
            g
            for g in (
                tuple(c for c in channels if c in own),
                tuple(c for c in channels if c not in own),
            )
            if g
        ]
        started = time.monotonic()
        for n in range(count):
            for group in groups:
                title = f"青浦区政务服务“一网通办”再添新功能（{n + 1}）"
                submit_and_sign_off(self.app, demo_draft(group, publish_date, title=title))
            if (n + 1) % 100 == 0:
                say(f"signed off {n + 1}/{count}")
        return time.monotonic() - started

    def rows(self) -> list[Row]:
        from sqlalchemy import select

        from orchestrator.models import Publication

        with self.app.db.session() as session:
            result = session.execute(
                select(
                    Publication.id,
                    Publication.channel,
                    Publication.state,
                    Publication.idempotency_key,
                    Publication.scheduled_at,
                ).order_by(Publication.id)
            ).all()
        return [Row(*r) for r in result]

    def states(self) -> Counter[str]:
        from sqlalchemy import func, select

        from orchestrator.models import Publication

        with self.app.db.engine.connect() as conn:
            result = conn.execute(
                select(Publication.state, func.count()).group_by(Publication.state)
            ).all()
        return Counter({state: n for state, n in result})

    def any_left_scheduled(self) -> bool:
        states = self.states()
        return sum(states.values()) > states.get("scheduled", 0)

    def publish_ends(self) -> dict[int, float]:
        """Publication id → when its successful publish call returned (epoch seconds)."""
        from sqlalchemy import select

        from orchestrator.models import Attempt

        with self.app.db.session() as session:
            result = session.execute(
                select(Attempt.publication_id, Attempt.started_at, Attempt.duration_ms).where(
                    Attempt.operation == "publish", Attempt.outcome == "ok"
                )
            ).all()
        ends: dict[int, float] = {}
        for pub_id, started, took in result:
            end = started.timestamp() + took / 1000
            ends[pub_id] = max(ends.get(pub_id, 0.0), end)
        return ends

    def first_attempts(self) -> dict[int, float]:
        """Publication id → when its first publish call started (epoch seconds)."""
        from sqlalchemy import func, select

        from orchestrator.models import Attempt

        with self.app.db.session() as session:
            result = session.execute(
                select(Attempt.publication_id, func.min(Attempt.started_at))
                .where(Attempt.operation == "publish")
                .group_by(Attempt.publication_id)
            ).all()
        return {pub_id: started.timestamp() for pub_id, started in result}


def wait_for(
    predicate: Callable[[], bool], timeout: float, poll: float = 0.25, what: str = ""
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    say(f"gave up waiting for {what or 'a condition'} after {timeout:.0f} s")
    return False


# --- memory of the worker's process tree --------------------------------------------------------
