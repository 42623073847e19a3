"""Review actions and publications are covered by the audit chain: a row changed, inserted,
deleted or moved outside the application is named by `audit.verify` (and refused at send)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from channels.simulators.server import SimulatorServer
from orchestrator import attest, audit
from orchestrator.app import App
from orchestrator.devstack import simulator_env
from orchestrator.models import AuditEvent, Publication, ReviewAction
from orchestrator.services.dispatch import claim_due, publication_origin_problem
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import Publisher
from orchestrator.states import QUIET_MOVES, allowed
from tests.clock import shanghai_tomorrow
from tests.db.data import signed_off


def _verify(app: App) -> audit.ChainReport:
    with app.db.read() as session:
        return audit.verify(session)


def _sql(app: App, statement: str, **params: object) -> None:
    with app.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def _origin(app: App, pub_id: int) -> str | None:
    with app.db.read() as session:
        pub = session.get(Publication, pub_id)
        assert pub is not None
        return publication_origin_problem(session, pub)


def _attesting_event(app: App, table: str, row_id: int) -> int:
    with app.db.read() as session:
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
            row = event.payload.get("row") or {}
            if (row.get("table"), row.get("id")) == (table, row_id):
                return event.id
    raise AssertionError(f"no audit event attests {table} #{row_id}")


@pytest.fixture
def signed(org_app: App) -> App:
    """One submission through the four stages (four review rows) with two publications."""
    signed_off(org_app, channels=("gov_website", "wechat"))
    assert _verify(org_app).ok
    return org_app


# --- review actions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("decision", "'reject'"),
        ("comment", "'改过的意见'"),
        ("actor_id", "(SELECT max(id) FROM people)"),
        ("acted_at", "(SELECT acted_at FROM review_actions WHERE id = 1)"),
    ],
)
def test_a_review_row_changed_in_the_database_is_named(
    signed: App, column: str, value: str
) -> None:
    event = _attesting_event(signed, "review_actions", 2)
    _sql(signed, f"UPDATE review_actions SET {column} = {value} WHERE id = 2")
    report = _verify(signed)
    assert not report.ok
    assert report.first_bad_row == {"table": "review_actions", "id": 2, "event": event}
    assert report.problem.startswith("审核记录 #2 的内容与审计链第") and "被改动" in report.problem


def test_a_review_row_inserted_without_the_service_is_named(signed: App) -> None:
    _sql(
        signed,
        "INSERT INTO review_actions (id, submission_id, version_id, fingerprint, stage, decision,"
        " actor_id, acted_at, comment, signature) SELECT 99, submission_id, version_id,"
        " fingerprint, stage, decision, actor_id, acted_at, '补签', signature"
        " FROM review_actions WHERE id = 4",
    )
    report = _verify(signed)
    assert not report.ok and report.first_bad_row == {"table": "review_actions", "id": 99}
    assert "审核记录 #99" in report.problem and "没有" in report.problem


def test_a_deleted_review_row_is_named(signed: App) -> None:
    event = _attesting_event(signed, "review_actions", 3)
    _sql(signed, "DELETE FROM review_actions WHERE id = 3")
    report = _verify(signed)
    assert not report.ok
    assert report.first_bad_row == {"table": "review_actions", "id": 3, "event": event}
    assert "审核记录 #3" in report.problem and "删除" in report.problem


def test_row_problems_leave_the_chain_report_shape_for_old_callers(signed: App) -> None:
    _sql(signed, "UPDATE review_actions SET comment = 'x' WHERE id = 1")
    shown = _verify(signed).as_dict()
    assert {"ok", "rows", "head", "first_bad_id", "problem"} <= set(shown)
    assert shown["ok"] is False and shown["first_bad_id"] is None
    assert shown["row_problems"] == [shown["problem"]]


# --- publications --------------------------------------------------------------------------


def _pub_ids(app: App) -> list[int]:
    with app.db.read() as session:
        return list(session.scalars(select(Publication.id).order_by(Publication.id)))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("channel", "'suishenban'"),
        ("scheduled_at", "(SELECT min(acted_at) FROM review_actions)"),
        ("version_id", "version_id + 1"),
        ("source_url", "'https://example.org/x'"),
    ],
)
def test_a_publication_changed_in_the_database_is_named(
    signed: App, column: str, value: str
) -> None:
    if column == "version_id":  # a second version of the submission for the row to point at
        _sql(
            signed,
            "INSERT INTO versions (id, submission_id, number, title, body_html, digest, byline,"
            " major_event, special_content, fingerprint, created_by_id, created_at) SELECT"
            " id + 1, submission_id, number + 1, '改', body_html, digest, byline, major_event,"
            " special_content, fingerprint, created_by_id, created_at FROM versions",
        )
    gov, _ = _pub_ids(signed)
    _sql(signed, f"UPDATE publications SET {column} = {value} WHERE id = :id", id=gov)
    report = _verify(signed)
    assert not report.ok and report.first_bad_row is not None
    assert report.first_bad_row["table"] == "publications" and report.first_bad_row["id"] == gov
    assert f"发布记录 #{gov} 的内容与审计链第" in report.problem
    assert (_origin(signed, gov) or "").startswith("发布记录在签发后被改动")


def test_a_cancelled_publication_brought_back_by_hand_is_named(signed: App) -> None:
    gov, wechat = _pub_ids(signed)
    publisher = Publisher(signed, ChannelHub({}), MemoryRateGate())
    publisher.cancel(wechat, reason="活动延期", actor="web")
    assert _verify(signed).ok and _origin(signed, wechat) is None
    _sql(signed, "UPDATE publications SET state = 'queued' WHERE id = :id", id=wechat)
    report = _verify(signed)
    assert not report.ok and report.first_bad_row is not None
    assert report.first_bad_row["id"] == wechat
    assert f"发布记录 #{wechat} 的状态" in report.problem and "已取消" in report.problem
    assert (_origin(signed, wechat) or "").startswith("发布记录在签发后被改动")
    assert _origin(signed, gov) is None


def test_a_publication_inserted_without_a_sign_off_is_refused(signed: App) -> None:
    gov, _ = _pub_ids(signed)
    _sql(
        signed,
        "INSERT INTO publications (id, submission_id, version_id, channel, state, revision,"
        " idempotency_key, scheduled_at, late, attempts, state_changed_at, created_at)"
        " SELECT 77, submission_id, version_id, 'suishenban', 'queued', 0, 'ss-forged',"
        " scheduled_at, late, 0, state_changed_at, created_at FROM publications WHERE id = :id",
        id=gov,
    )
    report = _verify(signed)
    assert not report.ok and report.first_bad_row == {"table": "publications", "id": 77}
    assert "发布记录 #77" in report.problem
    assert _origin(signed, 77) == "发布记录不是由签发生成的（审计链中没有其创建记录）"


def test_a_deleted_publication_is_named(signed: App) -> None:
    gov, _ = _pub_ids(signed)
    _sql(signed, "DELETE FROM publications WHERE id = :id", id=gov)
    report = _verify(signed)
    assert not report.ok and report.first_bad_row is not None
    assert report.first_bad_row["id"] == gov and "删除" in report.problem


def test_a_reschedule_is_attested_and_a_time_set_back_by_hand_is_named(org_app: App) -> None:
    # Signed for tomorrow, so that 23:30 of the signed day is still ahead whenever this runs
    # (today's 23:30 is past from 15:30 UTC on: a run at 15:42 UTC failed).
    signed_off(org_app, channels=("gov_website", "wechat"), publish_date=shanghai_tomorrow())
    signed = org_app
    gov, _ = _pub_ids(signed)
    publisher = Publisher(signed, ChannelHub({}), MemoryRateGate())
    with signed.db.read() as session:  # later the same signed day: 政府网站运行科's own act
        at = session.get(Publication, gov).scheduled_at
    later = at.astimezone(ZoneInfo("Asia/Shanghai")).replace(hour=23, minute=30)
    publisher.reschedule(gov, when=later, actor="web")
    assert _verify(signed).ok and _origin(signed, gov) is None
    _sql(
        signed,
        "UPDATE publications SET scheduled_at = (SELECT min(acted_at) FROM review_actions)"
        " WHERE id = :id",
        id=gov,
    )
    report = _verify(signed)
    assert not report.ok and report.first_bad_row is not None
    assert report.first_bad_row["id"] == gov and report.first_bad_row["event"] == max_event(signed)


def max_event(app: App) -> int:
    """The last event of the chain (here: the reschedule's)."""
    with app.db.read() as session:
        return int(audit.checkpoint(session).split(":")[0])


# --- a normal flow -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sims() -> Iterator[SimulatorServer]:
    with SimulatorServer() as server:
        yield server


def test_the_whole_flow_verifies(signed: App, sims: SimulatorServer) -> None:
    """Sign-off, the scheduler's claim, sends, a pause, a cancel and a retry: verify stays OK."""
    sims.reset()
    hub = ChannelHub(simulator_env({name: sims.client_settings(name) for name in sims.names}))
    gate = MemoryRateGate()
    publisher = Publisher(signed, hub, gate)
    now = datetime.now(UTC) + timedelta(minutes=1)
    with signed.db.session() as session:
        claimed = claim_due(session, now=now)
    assert len(claimed) == 2 and _verify(signed).ok  # a claim writes no audit event
    (gov, _), (wechat, _) = claimed
    assert _origin(signed, gov) is None and _origin(signed, wechat) is None

    gate.pause("wechat", 30)
    assert publisher.send(wechat) == "paused"
    assert _verify(signed).ok and _origin(signed, wechat) is None
    publisher.cancel(wechat, reason="改日再发", actor="web")

    assert publisher.send(gov) in ("submitted", "published")
    publisher.reconcile()
    assert _verify(signed).ok

    signed_off(signed, "第二篇", channels=("gov_website",))
    with signed.db.session() as session:
        ((third, _),) = claim_due(session, now=now)
    _sql(signed, "UPDATE publications SET state = 'failed' WHERE id = :id", id=third)
    assert not _verify(signed).ok  # failed without its audit event
    _sql(signed, "UPDATE publications SET state = 'queued' WHERE id = :id", id=third)
    assert _verify(signed).ok
    assert publisher.send(third) in ("submitted", "published")
    assert _verify(signed).ok


# --- the binding itself --------------------------------------------------------------------


def test_quiet_moves_are_transitions_of_the_table() -> None:
    assert QUIET_MOVES and all(allowed(source, target) for source, target in QUIET_MOVES)


def test_a_table_is_bound_once_with_known_columns() -> None:
    with pytest.raises(ValueError, match="cannot bind review_actions"):
        attest.bind(ReviewAction, ("id",), "审核记录", subject="submission")
    with pytest.raises(ValueError, match="cannot bind"):
        attest.bind(AuditEvent, ("id", "no_such_column"), "审计记录", subject="audit")


def test_the_digest_is_canonical() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    values = {"a": when, "b": b"\x01\xff", "c": None, "d": "三审"}
    assert attest.digest_values(("a", "b", "c", "d"), values) == attest.digest_values(
        ("a", "b", "c", "d"), values | {"a": when.astimezone(attest.SHANGHAI)}
    )
    assert attest.canonical(when) == "2026-01-02T03:04:05.000000+00:00"
    assert attest.canonical(b"\x01\xff") == "01ff"
