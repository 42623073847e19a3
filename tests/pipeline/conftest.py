"""A real stack per test: Redis, a Celery worker process, the scheduler process, the platform
simulators on loopback and a fresh database. Only the platforms are stand-ins."""

from __future__ import annotations

import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.simulators.server import SimulatorServer
from gate.model import ChannelRequest, Decision, ReviewStage
from orchestrator import redis_embedded
from orchestrator.app import App
from orchestrator.demo import tiny_png
from orchestrator.devstack import Processes, scheduler_argv, simulator_env, worker_argv
from orchestrator.migrate import upgrade
from orchestrator.models import Publication
from orchestrator.services import org, review, submissions
from orchestrator.settings import Settings, get_settings
from orchestrator.states import State
from tests.clock import shanghai_today
from tests.orchestrator.conftest import ORG_YAML, PASSWORDS

ALL_CHANNELS = ("gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu")
OWN_CHANNELS = ALL_CHANNELS[:3]
UPWARD_CHANNELS = ALL_CHANNELS[3:]
BIN = Path(sys.executable).parent
COVER = files("orchestrator").joinpath("data/demo-cover.jpg").read_bytes()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="ssr-", dir="/tmp"))
    url = redis_embedded.ensure_running(folder)
    yield url
    redis_embedded.stop(folder)


@pytest.fixture(scope="session")
def sims() -> Iterator[SimulatorServer]:
    with SimulatorServer() as server:
        yield server


@dataclass
class Stack:
    app: App
    env: dict[str, str]
    sims: SimulatorServer
    procs: Processes

    def start(self, what: str, concurrency: int = 2) -> None:
        self.procs.env = self.env
        argv = {"worker": worker_argv(concurrency, ALL_CHANNELS), "scheduler": scheduler_argv()}[
            what
        ]
        self.procs.start(what, argv)

    def kill(self, what: str, sig: int = signal.SIGKILL) -> None:
        self.procs.kill(what, sig)

    def log(self, what: str) -> str:
        return self.procs.log(what)

    # --- content ------------------------------------------------------------------------

    def signed_off(
        self,
        channels: tuple[str, ...] = ALL_CHANNELS,
        *,
        publish_date: date | None = None,
        at: datetime | None = None,
        **draft: Any,
    ) -> int:
        """An item written and signed off (at `at`, default now): its rows are due at
        max(the publish date's 00:00, the sign-off)."""
        today = publish_date or shanghai_today()
        fields: dict[str, Any] = {
            "title": "区政务服务中心推出周末延时服务",
            "body_html": '<p>自下月起周六上午提供延时服务。</p><p><img src="a.png"></p>',
            "images": [submissions.ImageFile("a.png", tiny_png())],
            "cover": submissions.ImageFile("cover.jpg", COVER),
            "digest": "周六上午延时服务",
            "byline": "数据管理发展科",
            "channels": [ChannelRequest(c, today) for c in channels],
        }
        with self.app.db.session() as session:
            sub = submissions.create(
                session,
                self.app.blobs,
                author="author",
                department="sjgl",
                draft=submissions.Draft(**(fields | draft)),
                now=at,
            )
            sub_id = sub.id
        self.review_all(sub_id, at=at)
        return sub_id

    def every_channel(self, **draft: Any) -> list[int]:
        """An item for every platform, as two submissions: the own platforms' and the upward
        ones' (in one, the own rows would wait for the upward adoption: upward first)."""
        return [self.signed_off(OWN_CHANNELS, **draft), self.signed_off(UPWARD_CHANNELS, **draft)]

    def states_of(self, subs: list[int]) -> dict[str, str]:
        return {channel: state for sub in subs for channel, state in self.states(sub).items()}

    def review_all(
        self,
        sub_id: int,
        *,
        at: datetime | None = None,
        stages: tuple[ReviewStage, ...] = (
            ReviewStage.FIRST,
            ReviewStage.SECOND,
            ReviewStage.FINAL,
            ReviewStage.USAGE,
            ReviewStage.SIGN_OFF,
        ),
    ) -> None:
        """初审, 复审, 终审, 稿件用途 and 签发 of the submission (or the `stages` given), each
        approving."""
        reviewer = {
            ReviewStage.FIRST: "author",
            ReviewStage.SECOND: "head",
            ReviewStage.FINAL: "leader",
            ReviewStage.USAGE: "zhk",
            ReviewStage.SIGN_OFF: "publicity",
        }
        for step, (stage, who) in enumerate((s, reviewer[s]) for s in stages):
            with self.app.db.session() as session:
                review.review(
                    session,
                    sub_id,
                    stage=stage,
                    decision=Decision.APPROVE,
                    actor=who,
                    password=PASSWORDS[who],
                    policy=self.app.policy,
                    app=self.app,
                    default_publish_time="00:00",
                    now=None if at is None else at + timedelta(seconds=step + 1),
                )

    def publications(self, sub_id: int | None = None) -> list[Publication]:
        with self.app.db.session() as session:
            query = select(Publication).order_by(Publication.id)
            if sub_id is not None:
                query = query.where(Publication.submission_id == sub_id)
            return list(session.scalars(query))

    def states(self, sub_id: int | None = None) -> dict[str, str]:
        return {p.channel: p.state for p in self.publications(sub_id)}

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 30.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what or predicate}; states: "
            f"{self.states()}\n--- worker log ---\n{self.log('worker')[-3000:]}"
            f"\n--- scheduler log ---\n{self.log('scheduler')[-3000:]}"
        )

    def settled(
        self,
        sub_id: int,
        final: frozenset[str] = frozenset(
            {State.PUBLISHED, State.FAILED, State.UNCONFIRMED, State.CANCELLED, State.RETRACTED}
        ),
    ) -> bool:
        pubs = self.publications(sub_id)
        return bool(pubs) and all(p.state in final for p in pubs)

    def ledger(self, channel: str) -> dict[str, int]:
        return self.sims.simulator(channel).ledger.snapshot()


@pytest.fixture
def stack(
    tmp_path: Path, redis_url: str, sims: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    redis_embedded.client(redis_url).flushdb()
    sims.reset()
    env = {
        "SANSHEN_DATA_DIR": str(tmp_path / "data"),
        "SANSHEN_REDIS_URL": redis_url,
        "SANSHEN_KDF_PROFILE": "min",
        "SANSHEN_DEFAULT_PUBLISH_TIME": "00:00",
        "SANSHEN_SCHEDULER_INTERVAL": "0.2",
        "SANSHEN_RECONCILE_INTERVAL": "1",
        "SANSHEN_TASK_TIME_LIMIT": "6",
        "SANSHEN_SETTLE_AFTER": "7",
        "SANSHEN_QUEUED_STALE_AFTER": "5",
        "SANSHEN_RETRY_BASE_DELAY": "0.2",
        "SANSHEN_RETRY_MAX_DELAY": "1",
        "SANSHEN_UNCONFIRMED_AFTER": "60",
    } | simulator_env({name: sims.client_settings(name) for name in sims.names})
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    app = App(Settings())
    upgrade(app.db)
    with app.db.session() as session:
        org.initialise(session, org.parse_organisation(ORG_YAML), kdf_profile="min")
        for person in org.all_people(session):
            for assignment in person.assignments:
                assignment.valid_from = datetime(2020, 1, 1, tzinfo=UTC)
    s = Stack(app, env, sims, Processes(tmp_path / "logs", env))
    yield s
    s.procs.stop_all()
    app.db.dispose()
    get_settings.cache_clear()
