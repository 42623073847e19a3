"""The reconciler's round reads only the rows whose check has fallen due (reconcile._due): the
rows with no check time first, then the longest due, never a row whose time has not come, at
most the batch; and the database answers from the index (state, next_check_at), not by reading
every waiting row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from gate.model import ChannelRequest
from orchestrator.app import App
from orchestrator.migrate import upgrade
from orchestrator.models import Publication, Version
from orchestrator.services import submissions
from orchestrator.services.publishing.reconcile import _due
from orchestrator.settings import Settings
from orchestrator.states import State
from tests.db.data import organisation


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    app = App(Settings(data_dir=tmp_path / "data", kdf_profile="min"))
    upgrade(app.db)
    organisation(app)
    yield app
    app.db.dispose()


def rows(app: App, checks: list[timedelta | None], now: datetime) -> list[int]:
    """One `submitted` row per entry: its next check that far from now, or none."""
    with app.db.session() as session:
        draft = submissions.Draft(
            title="待确认稿件",
            body_html="<p>正文</p>",
            channels=[ChannelRequest("gov_website", now.date() + timedelta(days=1))],
        )
        sub = submissions.create(
            session, app.blobs, author="author", department="sjgl", draft=draft
        )
        version = session.scalars(select(Version).where(Version.submission_id == sub.id)).one()
        made = []
        for i, offset in enumerate(checks):
            pub = Publication(
                submission_id=sub.id,
                version_id=version.id,
                channel=f"ch-{i}",
                state=State.SUBMITTED.value,
                idempotency_key=f"ss-{uuid.uuid4().hex}",
                scheduled_at=now,
                state_changed_at=now,
                next_check_at=None if offset is None else now + offset,
            )
            session.add(pub)
            session.flush()
            made.append(pub.id)
        return made


def test_unset_first_then_the_longest_due_and_never_a_row_not_yet_due(app: App) -> None:
    now = datetime.now(UTC)
    s = timedelta(seconds=1)
    late, unset, later, just, future = rows(app, [-30 * s, None, -5 * s, -s, 60 * s], now)
    with app.db.read() as session:
        assert _due(session, State.SUBMITTED, now, 10) == [unset, late, later, just]
        assert _due(session, State.SUBMITTED, now, 2) == [unset, late]
        assert _due(session, State.SENDING, now, 10) == []
    assert future not in (unset, late, later, just)


def test_the_round_reads_the_index_range_not_every_waiting_row(app: App) -> None:
    queries = (
        "SELECT id FROM publications WHERE state = 'submitted' AND next_check_at IS NULL",
        "SELECT id FROM publications WHERE state = 'submitted' "
        "AND next_check_at <= '2026-01-01' ORDER BY next_check_at, id",
    )
    with app.db.read() as session:
        if session.get_bind().dialect.name == "sqlite":
            plans = [
                " ".join(str(step[-1]) for step in session.execute(text(f"EXPLAIN QUERY PLAN {q}")))
                for q in queries
            ]
            expected = "ix_publications_checks (state=? AND next_check_at"
        else:  # PostgreSQL's planner chooses by its statistics: the index it can choose is there
            found = inspect(session.connection()).get_indexes("publications")
            assert {"name": "ix_publications_checks", "columns": ["state", "next_check_at"]} in [
                {"name": i["name"], "columns": i["column_names"]} for i in found
            ]
            return
    assert all(expected in plan for plan in plans), plans
