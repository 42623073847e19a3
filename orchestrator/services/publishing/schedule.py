"""People's moves of a row before it goes out: cancel it, set its time within the signed day,
and, for a row held for an upward adoption, release it or drop it (综合科). Each checks the
person's role for the channel's kind; another day needs the 宣传分管领导's signed 改期.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.errors import Conflict, InvalidInput
from orchestrator.models import Publication
from orchestrator.services import amendments
from orchestrator.services.moves import record_move, recorded_move, retime_scheduled
from orchestrator.services.publishing.shared import (
    SHANGHAI,
    Context,
    permitted_publication,
    require_reason,
    state_conflict,
)
from orchestrator.states import State

NOT_HELD = "不在等待上级采用"


def cancel(ctx: Context, pub_id: int, *, reason: str, actor: str) -> None:
    now = ctx.clock()
    with ctx.app.db.session() as session:
        pub = permitted_publication(ctx, session, pub_id, actor=actor, action="schedule", now=now)
        if not recorded_move(
            session,
            pub_id,
            (State.SCHEDULED, State.QUEUED, State.MANUAL),
            State.CANCELLED,
            now=now,
            action="publication.cancel",
            actor=actor,
            payload={"reason": reason},
            note=reason,
        ):
            raise state_conflict(
                pub_id, pub.state, "发送已开始或已结束，不能取消", "too_late_to_cancel"
            )


def reschedule(ctx: Context, pub_id: int, *, when: datetime, actor: str) -> None:
    """Set the publish time (also "publish now") within the signed day, only while the
    send has not started; another day needs the 宣传分管领导's signed 改期."""
    now = ctx.clock()
    if when.tzinfo is None:
        raise InvalidInput("发布时间必须带时区", code="naive_time")
    if when < now - timedelta(minutes=1):
        raise InvalidInput(
            f"发布时间 {when.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 已过，如需立即发布请选择“现在”",
            code="time_in_past",
        )
    with ctx.app.db.session() as session:
        pub = permitted_publication(ctx, session, pub_id, actor=actor, action="schedule", now=now)
        _refuse_another_day(session, pub, max(when, now), ctx.app.policy.zone)
        if not retime_scheduled(session, pub_id, scheduled_at=max(when, now)):
            raise state_conflict(pub_id, pub.state, "不能改期", "too_late_to_reschedule")
        record_move(
            session,
            pub_id,
            "publication.reschedule",
            State.SCHEDULED,
            actor=actor,
            payload={"scheduled_at": when},
            at=now,
            rebound=True,
        )


def release(ctx: Context, pub_id: int, *, actor: str) -> datetime:
    """综合科 releases a row held for an upward adoption: it goes out as the office's own
    article at its signed time, or now if that has passed (within the signed day: a later
    day needs the 宣传分管领导's 改期 first, which a held row takes too)."""
    now = ctx.clock()
    with ctx.app.db.session() as session:
        pub = permitted_publication(ctx, session, pub_id, actor=actor, action="release", now=now)
        if pub.state != State.HELD.value:
            raise state_conflict(pub_id, pub.state, NOT_HELD, "not_held")
        when = max(pub.scheduled_at, now)
        _refuse_another_day(session, pub, when, ctx.app.policy.zone)
        if not recorded_move(
            session,
            pub_id,
            (State.HELD,),
            State.SCHEDULED,
            now=now,
            action="publication.release",
            actor=actor,
            payload={"scheduled_at": when},
            rebound=True,
            scheduled_at=when,
            hold_until=None,
            note="综合科放行：未等上级采用，作为本单位稿件发布",
        ):
            raise Conflict(f"发布 {pub_id} 刚刚已被处理", code="not_held")
    return when


def drop(ctx: Context, pub_id: int, *, reason: str, actor: str) -> None:
    """综合科 drops a row held for an upward adoption: the own platform does not publish."""
    require_reason(reason, "撤下")
    now = ctx.clock()
    with ctx.app.db.session() as session:
        pub = permitted_publication(ctx, session, pub_id, actor=actor, action="release", now=now)
        if not recorded_move(
            session,
            pub_id,
            (State.HELD,),
            State.CANCELLED,
            now=now,
            action="publication.drop",
            actor=actor,
            payload={"reason": reason},
            note=reason,
        ):
            raise state_conflict(pub_id, pub.state, NOT_HELD, "not_held")


def _refuse_another_day(session: Session, pub: Publication, when: datetime, zone: Any) -> None:
    signed, _ = amendments.signed_day(session, pub)
    day = when.astimezone(zone).date()
    if day != signed:
        raise Conflict(
            f"发布 {pub.id} 的审批表发布日期是 {signed.isoformat()}，改到 {day.isoformat()} "
            "须由宣传分管领导签署改期（sanshen publication amend-date），"
            "或在控制台由宣传分管领导办理",
            code="needs_date_amendment",
        )
