"""Retrying: a send the platform could not take now waits in the database (`scheduled`, never a
broker ETA) for a backoff, a rate limit or the daily quota's reset, within a bounded number of
tries and time; and a person sends a failed or unconfirmed row again (`retry`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from channels import errors as ce
from orchestrator.errors import Conflict
from orchestrator.models import Publication
from orchestrator.services import amendments
from orchestrator.services.moves import recorded_move
from orchestrator.services.publishing.shared import (
    PLATFORM,
    QUOTA_SPENT,
    Context,
    backoff,
    local_moment,
    permitted_publication,
    send_failed,
    state_conflict,
)
from orchestrator.states import State


def retry_later(
    ctx: Context,
    session: Session,
    pub_id: int,
    channel: str,
    tries: int,
    first: datetime,
    error: ce.ChannelError,
    now: datetime,
    *,
    may_give_up: bool = True,
) -> str:
    """Try number `tries` failed with `error` (the platform has nothing): back to `scheduled`
    for a later try, or `failed` once the tries or the window (since `first`) are spent."""
    s = ctx.settings
    if isinstance(error, ce.RateLimited) and error.daily:
        return _after_quota_reset(ctx, session, pub_id, channel, error, now)
    if isinstance(error, ce.RateLimited):
        ctx.gate.pause(channel, error.retry_after, by=PLATFORM, reason=str(error))
        delay = error.retry_after
    else:
        delay = backoff(s, tries)
    give_up = tries >= s.retry_max_attempts or (
        now + timedelta(seconds=delay) - first > timedelta(seconds=s.retry_window)
    )
    if give_up and not may_give_up:
        # The call whose answer was lost may still be running on the platform: "not there
        # yet" is no verdict. The row stays `sending`; the reconciler asks again once the
        # settle time has passed, when no call of ours can still be running.
        return "unknown"
    if give_up:
        return send_failed(
            session,
            pub_id,
            now,
            error.code,
            f"重试 {tries} 次仍未成功：{error}",
            payload={"error": error.code, "attempts": tries},
        )
    _try_again_at(
        session,
        pub_id,
        now,
        now + timedelta(seconds=delay),
        payload={"error": error.code, "attempt": tries, "delay": round(delay, 3)},
        last_error_class=error.code,
        last_error=str(error),
    )
    return "retry"


def _after_quota_reset(
    ctx: Context,
    session: Session,
    pub_id: int,
    channel: str,
    error: ce.RateLimited,
    now: datetime,
) -> str:
    """The platform's quota for the day is spent: the channel waits for the reset, and this
    row with it, like the rows queued behind it. Not a failure of the item: the call is not
    counted against its tries, and its retry window starts again at the reset. A reset on a
    later day than the signed one is said at once (the 审批表 binds the day)."""
    ctx.gate.pause(channel, error.retry_after, by=PLATFORM, reason=str(error))
    # The adapter counted from its own clock, a call's length after `now`: up to the minute
    reset = _next_minute(now + timedelta(seconds=error.retry_after))
    note = f"今日调用次数已用完，将于{local_moment(reset, now)} 后重试"
    pub = session.get(Publication, pub_id)
    if pub is not None:
        signed, _ = amendments.signed_day(session, pub)
        if reset.astimezone(ctx.app.policy.zone).date() != signed:
            note += f"；审批表的发布日期是 {signed.isoformat()}，届时发布须宣传分管领导先签署改期"
    if not _try_again_at(
        session,
        pub_id,
        now,
        reset,
        payload={"error": QUOTA_SPENT, "delay": round(error.retry_after, 3)},
        attempts=Publication.attempts - 1,
        sent_at=None,
        last_error_class=QUOTA_SPENT,
        last_error=note,
    ):
        return "lost-race"
    return "retry"


def _try_again_at(
    session: Session,
    pub_id: int,
    now: datetime,
    when: datetime,
    *,
    payload: dict[str, Any],
    **values: Any,
) -> bool:
    """sending → scheduled at `when`, for another try. scheduled_at is bound (attest): the
    retry's time is recorded with its digest."""
    return recorded_move(
        session,
        pub_id,
        (State.SENDING,),
        State.SCHEDULED,
        now=now,
        action="publication.retry_later",
        payload=payload,
        rebound=True,
        scheduled_at=when,
        **values,
    )


def _next_minute(moment: datetime) -> datetime:
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


def retry(ctx: Context, pub_id: int, *, actor: str, checked: bool = False) -> None:
    """Send a failed row again, or an unconfirmed one after checking the platform."""
    now = ctx.clock()
    with ctx.app.db.session() as session:
        pub = permitted_publication(ctx, session, pub_id, actor=actor, action="retry", now=now)
        if pub.state == State.UNCONFIRMED.value and not checked:
            raise Conflict(
                "该稿件可能已在平台发布：请先在平台上核对，确认未发布后再重发",
                code="check_platform_first",
            )
        if not recorded_move(
            session,
            pub_id,
            (State.FAILED, State.UNCONFIRMED),
            State.QUEUED,
            now=now,
            action="publication.retry",
            actor=actor,
            payload={"checked": checked},
            attempts=0,
            sent_at=None,
        ):
            raise state_conflict(pub_id, pub.state, "无需重发", "not_retryable")
        channel = pub.channel
    ctx.hand_to_workers([(pub_id, channel)])
