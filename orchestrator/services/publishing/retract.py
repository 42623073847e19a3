"""撤稿: taking an article down on one channel, or everywhere a submission went out. A channel
with an API retracts through it; on an assisted channel it becomes a to-do for the person who
publishes there (待人工撤下), done when 发布核验 finds the page gone.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import errors as ce
from channels.base import Receipt
from orchestrator.errors import Conflict, SanshenError
from orchestrator.models import Publication
from orchestrator.services.hub import Mode
from orchestrator.services.moves import move, record_move, recorded_move
from orchestrator.services.publishing.shared import (
    Context,
    attempt,
    permitted_publication,
    require_reason,
    state_conflict,
)
from orchestrator.states import State

RETRACTABLE = (State.PUBLISHED.value, State.SUBMITTED.value, State.UNCONFIRMED.value)


def retract(ctx: Context, pub_id: int, *, reason: str, actor: str) -> str:
    """撤稿 on one channel; a channel that cannot retract says so and nothing changes."""
    require_reason(reason, "撤稿")
    now = ctx.clock()
    with ctx.app.db.session() as session:
        pub = permitted_publication(ctx, session, pub_id, actor=actor, action="retract", now=now)
        by_hand = pub.mode == Mode.ASSISTED.value and pub.state == State.PUBLISHED.value
        if pub.state not in RETRACTABLE or not (pub.receipt or by_hand):
            raise state_conflict(pub_id, pub.state, "没有可撤回的稿件", "nothing_to_retract")
        if by_hand:
            return _takedown_to_do(ctx, session, pub, reason=reason, actor=actor, now=now)
        assert pub.receipt is not None  # checked above: an API row with nothing sent refused
        receipt, state = Receipt.from_dict(pub.receipt), State(pub.state)
    adapter = ctx.hub.get(pub.channel)
    if not adapter.capabilities.retract:
        raise Conflict(
            f"{adapter.display_name}不支持撤稿，请在平台上人工处理",
            code="retract_not_supported",
        )
    t0 = time.monotonic()
    try:
        adapter.retract(receipt, reason)
    except ce.ChannelError as error:
        with ctx.app.db.session() as session:
            attempt(
                session,
                pub_id,
                "retract",
                now,
                time.monotonic() - t0,
                "permanent" if isinstance(error, ce.Permanent) else "retryable",
                error,
            )
        raise SanshenError(
            f"{adapter.display_name}撤稿失败：{error}", code=f"retract_{error.code}"
        ) from None
    with ctx.app.db.session() as session:
        attempt(session, pub_id, "retract", now, time.monotonic() - t0, "ok")
        # 发布核验 checks that the page is gone, at once (the watch's next round)
        moved = move(
            session, pub_id, (state,), State.RETRACTED, now=now, note=reason, next_verify_at=now
        )
        # recorded whether or not the row moved: the platform has taken it down
        record_move(
            session,
            pub_id,
            "publication.retract",
            State.RETRACTED if moved else None,
            actor=actor,
            payload={"reason": reason},
            at=now,
        )
    return State.RETRACTED.value


def _takedown_to_do(
    ctx: Context, session: Session, pub: Publication, *, reason: str, actor: str, now: datetime
) -> str:
    """撤稿 on an assisted channel: a to-do for the person who publishes there, done when
    发布核验 finds the page gone (services.verification)."""
    if not recorded_move(
        session,
        pub.id,
        (State.PUBLISHED,),
        State.TAKEDOWN,
        now=now,
        action="publication.takedown",
        actor=actor,
        payload={"reason": reason},
        note=reason,
        next_verify_at=now + timedelta(seconds=ctx.settings.takedown_check_interval),
    ):
        raise Conflict(f"发布 {pub.id} 的状态已变化，请刷新后再试", code="state_changed")
    return State.TAKEDOWN.value


def retract_all(ctx: Context, submission_id: int, *, reason: str, actor: str) -> dict[str, str]:
    """撤稿 everywhere the submission went out; each channel answers for itself."""
    with ctx.app.db.session() as session:
        pubs = session.scalars(
            select(Publication)
            .where(
                Publication.submission_id == submission_id,
                Publication.state.in_(RETRACTABLE),
            )
            .order_by(Publication.id)  # the 审批表's order, on every database
        ).all()
        targets = [(p.id, p.channel) for p in pubs]
    if not targets:
        raise Conflict(f"稿件 {submission_id} 没有已发布的渠道可撤回", code="nothing_to_retract")
    results = {}
    for pub_id, channel in targets:
        try:
            results[channel] = retract(ctx, pub_id, reason=reason, actor=actor)
        except SanshenError as error:
            results[channel] = f"{error.code}: {error.message}"
    return results
