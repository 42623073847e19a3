"""claim_due under concurrency: two schedulers never claim one row; on PostgreSQL they do not
even wait for each other (SELECT … FOR UPDATE SKIP LOCKED).

Two tests are PostgreSQL's alone and skip on SQLite, saying so; they run in the PostgreSQL
suite (SANSHEN_TEST_DATABASE; `.ci/run` runs it beside the SQLite one). The others run on both."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from gate.model import ChannelRequest
from orchestrator.app import App
from orchestrator.db import Database, is_disconnect, retry_on_disconnect
from orchestrator.migrate import upgrade
from orchestrator.models import Publication, Version
from orchestrator.services import submissions
from orchestrator.services.dispatch import claim_due, claim_due_retrying
from orchestrator.settings import Settings
from orchestrator.states import State
from tests.conftest import on_postgresql
from tests.db.data import organisation

ROWS = 120


@pytest.fixture
def due(tmp_path: Path) -> Iterator[App]:
    """ROWS publications due now, each on a channel of its own (no per-channel cap applies)."""
    app = App(Settings(data_dir=tmp_path / "data", kdf_profile="min"))
    upgrade(app.db)
    organisation(app)
    now = datetime.now(UTC)
    with app.db.session() as session:
        draft = submissions.Draft(
            title="到期稿件",
            body_html="<p>正文</p>",
            channels=[ChannelRequest("gov_website", now.date() + timedelta(days=1))],
        )
        sub = submissions.create(
            session, app.blobs, author="author", department="sjgl", draft=draft
        )
        version = session.scalars(select(Version).where(Version.submission_id == sub.id)).one()
        for i in range(ROWS):
            session.add(
                Publication(
                    submission_id=sub.id,
                    version_id=version.id,
                    channel=f"ch-{i:03d}",
                    state=State.SCHEDULED.value,
                    idempotency_key=f"ss-{uuid.uuid4().hex}",
                    scheduled_at=now - timedelta(seconds=ROWS - i),
                    state_changed_at=now,
                )
            )
    yield app
    app.db.dispose()


def queued(app: App) -> int:
    with app.db.read() as session:
        return (
            session.scalar(select(func.count()).where(Publication.state == State.QUEUED.value)) or 0
        )


@pytest.mark.skipif(
    not on_postgresql(),
    reason="PostgreSQL only (runs in the PostgreSQL suite): FOR UPDATE SKIP LOCKED; on SQLite "
    "a second claimer waits for the one writer instead (the concurrent-schedulers test)",
)
def test_a_second_claimer_skips_the_rows_the_first_holds_without_waiting(due: App) -> None:
    other = Database(due.db.url)
    with due.db.read() as session:  # the time by which the 50 oldest rows are due
        fiftieth = session.scalar(
            select(Publication.scheduled_at).order_by(Publication.scheduled_at).offset(49)
        )
    try:
        with due.db.session() as first:
            mine = claim_due(first, now=fiftieth, per_channel=1)  # locks the 50 oldest rows
            assert len(mine) == 50
            with other.session() as second:
                # Were the first claimer's locks waited for, this would fail, not hang.
                second.execute(text("SET LOCAL lock_timeout = '3s'"))
                theirs = claim_due(second, now=datetime.now(UTC), per_channel=1)
            assert len(theirs) == ROWS - 50
            assert not {pub_id for pub_id, _ in mine} & {pub_id for pub_id, _ in theirs}
        assert queued(due) == ROWS
    finally:
        other.dispose()


def test_concurrent_schedulers_claim_every_row_exactly_once(due: App) -> None:
    claimed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def scheduler() -> None:
        db = Database(due.db.url)
        try:
            while rows := claim_due_retrying(db, per_channel=1):
                with lock:
                    claimed.extend(pub_id for pub_id, _ in rows)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    duplicates = [pub_id for pub_id, n in Counter(claimed).items() if n > 1]
    assert duplicates == []
    assert len(claimed) == ROWS == queued(due)


@pytest.mark.skipif(
    not on_postgresql(),
    reason="PostgreSQL only (runs in the PostgreSQL suite): the server ends the connection "
    "(pg_terminate_backend); SQLite is a file, with no connection to lose",
)
def test_a_unit_of_work_cut_off_by_a_lost_connection_runs_again(due: App) -> None:
    calls: list[int] = []

    def work() -> list[tuple[int, str]]:
        calls.append(1)
        with due.db.session() as session:
            if len(calls) == 1:  # the server ends this very connection, as a restart would
                session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
            return claim_due(session, now=datetime.now(UTC), per_channel=1)

    assert len(retry_on_disconnect(work)) == ROWS
    assert len(calls) == 2 and queued(due) == ROWS


def answered_errors() -> list[tuple[str, ...]]:
    """Units of work the database refuses with an answer of its own (the connection is fine),
    one statement list per case."""
    if on_postgresql():
        return [
            ("SELECT 1/0",),  # DataError, SQLSTATE 22012
            # OperationalError with SQLSTATE 57014: an OperationalError, yet not a lost server
            ("SET LOCAL statement_timeout = 1", "SELECT pg_sleep(1)"),
        ]
    return [("SELECT * FROM no_such_table",)]  # a sqlite3.OperationalError


def test_an_error_the_database_answers_is_not_retried(due: App) -> None:
    """retry_on_disconnect runs the work again only when the connection was lost: an error the
    database answered with fails at once, on either database."""
    for statements in answered_errors():
        calls: list[int] = []

        def work(statements: tuple[str, ...] = statements, calls: list[int] = calls) -> None:
            calls.append(1)
            with due.db.session() as session:
                for statement in statements:
                    session.execute(text(statement))

        with pytest.raises(DBAPIError) as raised:
            retry_on_disconnect(work)
        assert len(calls) == 1, (statements, raised.value)
        assert not is_disconnect(raised.value), statements
