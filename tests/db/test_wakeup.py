"""The scheduler sleeps until the next due time and wakes on change (orchestrator/wakeup.py,
tasks/scheduler.on_time): a commit that makes a row due sends one word after it commits (none on
rollback); the loop claims a row at its time without a round in between, claims a row made due
while it sleeps on that row's word, and does no rounds while nothing is due. A real Redis, a
real database; the safety scan is set far beyond each test's wait, so only a word or the due
time can have woken the loop."""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gate.model import ChannelRequest
from orchestrator import redis_embedded
from orchestrator.app import App
from orchestrator.migrate import upgrade
from orchestrator.models import Publication, Version
from orchestrator.services import submissions
from orchestrator.services.dispatch import DueRound, due_round
from orchestrator.services.moves import move, retime_scheduled
from orchestrator.settings import Settings
from orchestrator.states import State
from orchestrator.wakeup import Listener
from tasks.scheduler import BrokerOutage, on_time
from tests.db.data import organisation

SAFETY_SCAN = 120.0  # far beyond any wait below


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="swk-", dir="/tmp"))
    yield redis_embedded.ensure_running(folder)
    redis_embedded.stop(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def app(tmp_path: Path, redis_url: str) -> Iterator[App]:
    app = App(Settings(data_dir=tmp_path / "data", kdf_profile="min", redis_url=redis_url))
    upgrade(app.db)
    organisation(app)
    yield app
    app.db.dispose()


def add_row(app: App, at: datetime, channel: str = "gov_website") -> int:
    """A scheduled row, written straight into the table (no move: no word)."""
    with app.db.session() as session:
        draft = submissions.Draft(
            title="定时稿件",
            body_html="<p>正文</p>",
            channels=[ChannelRequest(channel, at.date() + timedelta(days=1))],
        )
        sub = submissions.create(
            session, app.blobs, author="author", department="sjgl", draft=draft
        )
        version = session.scalars(select(Version).where(Version.submission_id == sub.id)).one()
        pub = Publication(
            submission_id=sub.id,
            version_id=version.id,
            channel=channel,
            state=State.SCHEDULED.value,
            idempotency_key=f"ss-{uuid.uuid4().hex}",
            scheduled_at=at,
            state_changed_at=at,
        )
        session.add(pub)
        session.flush()
        return pub.id


def state(app: App, pub_id: int) -> str:
    with app.db.read() as session:
        return session.get(Publication, pub_id).state  # type: ignore[union-attr]


def test_a_commit_that_makes_a_row_due_sends_one_word_after_it_and_a_rollback_none(
    app: App, redis_url: str
) -> None:
    pub_id = add_row(app, datetime.now(UTC) + timedelta(days=2))
    listener = Listener(redis_url)
    try:
        assert not listener.wait(0.2)  # subscribed; nothing said yet
        with app.db.session() as session:  # a write that makes nothing due
            session.get(Publication, pub_id)
        assert not listener.wait(0.3)
        with pytest.raises(RuntimeError), app.db.session() as session:
            assert retime_scheduled(session, pub_id, scheduled_at=datetime.now(UTC))
            raise RuntimeError("rolled back")
        assert not listener.wait(0.3)
        with app.db.session() as session:
            assert retime_scheduled(session, pub_id, scheduled_at=datetime.now(UTC))
        assert listener.wait(5)
        assert not listener.wait(0.2)  # one word per commit
        with app.db.session() as session:  # a worker takes a queued row: room in the queue
            now = datetime.now(UTC)
            assert move(session, pub_id, (State.SCHEDULED,), State.QUEUED, now=now)
            assert move(session, pub_id, (State.QUEUED,), State.SENDING, now=now)
        assert listener.wait(5)
    finally:
        listener.close()


class Loop:
    """tasks.scheduler.on_time over the real due rounds, in a thread, counting its rounds."""

    def __init__(self, app: App, redis_url: str) -> None:
        self.app, self.rounds = app, 0
        self.claimed: list[int] = []
        self.stop = threading.Event()
        self.changed = threading.Condition()
        self.thread = threading.Thread(
            target=on_time,
            args=(self.stop, SAFETY_SCAN, self.round, Listener(redis_url), BrokerOutage()),
        )

    def round(self) -> DueRound:
        due = due_round(self.app.db)
        with self.changed:
            self.rounds += 1
            self.claimed += [pub_id for pub_id, _ in due.claimed]
            self.changed.notify_all()
        return due

    def wait_for(self, what: str, check: object, timeout: float = 15) -> None:
        with self.changed:
            assert self.changed.wait_for(check, timeout), what  # type: ignore[arg-type]

    def __enter__(self) -> Loop:
        self.thread.start()
        self.wait_for("the first round", lambda: self.rounds >= 1)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)


def test_a_row_is_claimed_at_its_time_with_no_round_in_between(app: App, redis_url: str) -> None:
    due_at = datetime.now(UTC) + timedelta(seconds=1.5)
    pub_id = add_row(app, due_at)
    with Loop(app, redis_url) as loop:
        loop.wait_for("the row claimed", lambda: pub_id in loop.claimed)
        claimed_at = datetime.now(UTC)
        assert loop.rounds == 2  # the first round, then the one at the due time: no polling
    assert claimed_at >= due_at
    assert state(app, pub_id) == State.QUEUED.value


def test_a_row_made_due_while_the_loop_sleeps_wakes_it(app: App, redis_url: str) -> None:
    pub_id = add_row(app, datetime.now(UTC) + timedelta(days=3))
    with Loop(app, redis_url) as loop:
        assert loop.rounds == 1 and loop.claimed == []
        with app.db.session() as session:  # a person moves it to now (改期 to today)
            assert retime_scheduled(session, pub_id, scheduled_at=datetime.now(UTC))
        # far sooner than the safety scan: the word woke the loop
        loop.wait_for("the retimed row claimed", lambda: pub_id in loop.claimed)
        assert loop.rounds == 2


def test_nothing_due_means_no_rounds(app: App, redis_url: str) -> None:
    later = add_row(app, datetime.now(UTC) + timedelta(days=3))
    taken = add_row(app, datetime.now(UTC) + timedelta(days=3))
    with Loop(app, redis_url) as loop:
        with app.db.session() as session:  # a worker takes a queued row: room, but no row waits
            now = datetime.now(UTC)
            assert move(session, taken, (State.SCHEDULED,), State.QUEUED, now=now)
            assert move(session, taken, (State.QUEUED,), State.SENDING, now=now)
        quiet = threading.Event()
        quiet.wait(2.0)  # two seconds of nothing to do
        assert loop.rounds == 1
    assert state(app, later) == State.SCHEDULED.value


def test_without_redis_a_commit_still_commits_and_the_listener_sleeps(tmp_path: Path) -> None:
    """Redis away (a wrong socket): the word is dropped at once, never the commit; the loop's
    wait is a plain sleep of the time asked."""
    app = App(Settings(data_dir=tmp_path / "data", kdf_profile="min"))  # its socket: not there
    upgrade(app.db)
    organisation(app)
    try:
        pub_id = add_row(app, datetime.now(UTC) + timedelta(days=2))
        with app.db.session() as session:
            assert retime_scheduled(session, pub_id, scheduled_at=datetime.now(UTC))
        with app.db.read() as session:
            row = session.get(Publication, pub_id)
            assert row is not None and row.scheduled_at <= datetime.now(UTC)
        assert app.waker is not None and app.waker.sent == 0
        assert not Listener(app.waker.url).wait(0.2)
    finally:
        app.db.dispose()
