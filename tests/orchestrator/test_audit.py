from __future__ import annotations

import pytest
from sqlalchemy import text

from orchestrator import audit
from orchestrator.app import App
from orchestrator.errors import InvalidInput


def _fill(app: App, n: int = 5) -> str:
    with app.db.session() as session:
        for i in range(n):
            audit.record(
                session,
                "test.event",
                actor="tester",
                subject=f"thing:{i}",
                payload={"n": i, "说明": "测试"},
            )
    with app.db.session() as session:
        return audit.checkpoint(session)


def _verify(app: App, checkpoint: str | None = None) -> audit.ChainReport:
    with app.db.session() as session:
        return audit.verify(session, checkpoint)


def test_intact_chain_verifies(app: App) -> None:
    checkpoint = _fill(app)
    report = _verify(app, checkpoint)
    assert report.ok and report.rows == 5 and checkpoint.startswith("5:")


def test_changed_row_is_named(app: App) -> None:
    _fill(app)
    with app.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET subject='thing:x' WHERE id=3"))
    report = _verify(app)
    assert not report.ok and report.first_bad_id == 3 and "改动" in report.problem


def test_deleted_row_is_named(app: App) -> None:
    _fill(app)
    with app.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id=2"))
    report = _verify(app)
    assert not report.ok and report.first_bad_id == 2


def test_inserted_row_is_named(app: App) -> None:
    _fill(app)
    with app.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET id=-(id+1) WHERE id>=3"))
        conn.execute(text("UPDATE audit_events SET id=-id WHERE id<0"))
        conn.execute(
            text(
                "INSERT INTO audit_events (id, at, actor, action, subject, payload, prev_hash, hash)"
                " SELECT 3, at, 'intruder', 'test.event', 'forged', '{}', hash, "
                "'forged' || substr(hash, 7) FROM audit_events WHERE id=2"
            )
        )
    report = _verify(app)
    assert not report.ok and report.first_bad_id == 3


def test_truncated_tail_is_caught_by_the_head(app: App) -> None:
    _fill(app)
    with app.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id=5"))
    report = _verify(app)
    assert not report.ok and report.first_bad_id == 5


def test_chain_rewritten_whole_is_caught_by_a_kept_checkpoint(app: App) -> None:
    kept = _fill(app)
    with app.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))
        conn.execute(text("DELETE FROM audit_head"))
    _fill(app, 5)  # a forger re-creates a consistent chain of the same length
    assert _verify(app).ok
    report = _verify(app, kept)
    assert not report.ok and "重写" in report.problem


@pytest.mark.parametrize(
    "checkpoint",
    [
        "²:" + "0" * 64,  # a digit to str.isdigit(), not to int()
        "99999999999999999999:" + "0" * 64,  # past the database's integer
        "5:" + "z" * 64,
        "5:abc",
        "abc",
    ],
)
def test_a_checkpoint_out_of_shape_is_refused_as_bad_input(checkpoint: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        audit.parse_checkpoint(checkpoint)
    assert refused.value.code == "bad_checkpoint"


def test_a_checkpoint_may_come_with_spaces_around_it() -> None:
    assert audit.parse_checkpoint(" 5:" + "ab" * 32 + "\n") == (5, "ab" * 32)
