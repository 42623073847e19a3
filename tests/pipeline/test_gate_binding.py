"""Rows altered outside the product never reach a platform, through a real worker.

The sign-off creates one row per signed 审批表 row; someone with database access then moves a
row to today (a day before the signed date) and adds a row for a channel nobody signed. The
scheduler finds both due, the worker asks the gate, and neither reaches the simulators: each
ends `failed` with the gate's reason and an integrity alert, while the untouched row waits for
its signed day.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update

from orchestrator.models import Alert, Publication
from tests.clock import shanghai_tomorrow
from tests.pipeline.conftest import Stack


def test_rows_not_bound_to_the_signed_form_never_reach_a_platform(stack: Stack) -> None:
    sub = stack.signed_off(("gov_website", "wechat"), publish_date=shanghai_tomorrow())
    now = datetime.now(UTC)
    with stack.app.db.session() as session:
        rows = {p.channel: p for p in session.scalars(select(Publication))}
        session.execute(
            update(Publication)
            .where(Publication.id == rows["gov_website"].id)
            .values(scheduled_at=now)
        )
        session.add(
            Publication(
                submission_id=sub,
                version_id=rows["wechat"].version_id,
                channel="suishenban",
                state="scheduled",
                idempotency_key=f"ss-{uuid.uuid4().hex}",
                scheduled_at=now,
            )
        )
    stack.start("worker")
    stack.start("scheduler")
    altered = ("gov_website", "suishenban")
    stack.wait_for(
        lambda: all(stack.states(sub)[c] == "failed" for c in altered),
        timeout=60,
        what="the altered rows refused",
    )
    pubs = {p.channel: p for p in stack.publications(sub)}
    assert "与审批表签发的发布日期" in (pubs["gov_website"].last_error or "")
    assert "不在已签发的审批表中" in (pubs["suishenban"].last_error or "")
    for channel in altered:
        assert pubs[channel].last_error_class == "gate_refused"
        assert stack.ledger(channel) == {}, channel
    assert pubs["wechat"].state == "scheduled"  # its signed day has not come
    assert stack.ledger("wechat") == {}
    with stack.app.db.read() as session:
        kinds = {
            (a.kind, a.publication_id)
            for a in session.scalars(select(Alert).where(Alert.kind == "integrity"))
        }
    assert kinds == {("integrity", pubs[c].id) for c in altered}
