"""Where a `submitted` article stands: the platform's callback (`apply_status`), or a sparing
poll (`confirm`) whose interval doubles with the time already waited. Published, rejected and
removed move the row on; an answer that never comes makes it 待人工确认 after the channel's
patience.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import errors as ce
from channels.base import Channel, ChannelKind, Receipt, RemoteState, Status
from orchestrator.errors import NotFound
from orchestrator.models import Publication
from orchestrator.services.moves import recorded_move
from orchestrator.services.publishing.shared import (
    Context,
    ask_again,
    attempt,
    on_published,
    unconfirmed,
)
from orchestrator.states import State

OVERDUE_NOTE = "已提交但长时间未得到平台确认"


def confirm(ctx: Context, pub_id: int) -> str:
    """Ask the platform where a `submitted` article stands: a sparing poll whose interval
    doubles with the time already waited (the callback is the main path where there is one)."""
    now = ctx.clock()
    with ctx.app.db.read() as session:
        pub = session.get(Publication, pub_id)
        if pub is None or pub.state != State.SUBMITTED.value or not pub.receipt:
            return State.SUBMITTED.value if pub is None else pub.state
        receipt, channel_name = Receipt.from_dict(pub.receipt), pub.channel
        waited = now - pub.state_changed_at
    adapter = ctx.hub.get(channel_name)
    overdue = waited > timedelta(seconds=_patience(ctx, adapter))
    t0 = time.monotonic()
    try:
        status = adapter.status(receipt)
    except ce.ChannelError as error:
        if overdue:
            return unconfirmed(ctx, pub_id, now, "status", t0, error, OVERDUE_NOTE)
        with ctx.app.db.session(durable=False) as session:
            attempt(session, pub_id, "status", now, time.monotonic() - t0, "retryable", error)
            _next_check(ctx, session, pub_id, now, waited, error)
        return State.SUBMITTED.value
    with ctx.app.db.session(durable=False) as session:
        attempt(session, pub_id, "status", now, time.monotonic() - t0, "ok")
        result = _apply_status(ctx, session, pub_id, status, now, overdue)
        if result == State.SUBMITTED.value:
            _next_check(ctx, session, pub_id, now, waited, None)
        return result


def _patience(ctx: Context, adapter: Channel) -> float:
    if adapter.kind is ChannelKind.UPWARD:
        return ctx.settings.upward_unconfirmed_after
    return ctx.settings.unconfirmed_after


def _next_check(
    ctx: Context,
    session: Session,
    pub_id: int,
    now: datetime,
    waited: timedelta,
    error: ce.ChannelError | None,
) -> None:
    s = ctx.settings
    delay = min(s.confirm_max_interval, max(s.confirm_first_check, waited.total_seconds()))
    ask_again(session, pub_id, State.SUBMITTED, now, delay, error)


def apply_status(ctx: Context, channel: str, external_id: str, status: Status) -> str:
    """A platform told us (callback) where an article stands."""
    now = ctx.clock()
    with ctx.app.db.session(durable=False) as session:
        pub = session.scalar(
            select(Publication).where(
                Publication.channel == channel, Publication.external_id == external_id
            )
        )
        if pub is None:
            raise NotFound(
                f"{channel} 回调的发布编号 {external_id} 不存在", code="unknown_publish_id"
            )
        return _apply_status(ctx, session, pub.id, status, now, overdue=False)


def _apply_status(
    ctx: Context, session: Session, pub_id: int, status: Status, now: datetime, overdue: bool
) -> str:
    values: dict[str, Any]
    if status.state is RemoteState.PUBLISHED:
        target, values = State.PUBLISHED, {"published_at": now, "url": status.url or None}
    elif status.state in (RemoteState.REJECTED, RemoteState.NOT_FOUND):
        target, values = (
            State.FAILED,
            {
                "last_error_class": "rejected_by_platform",
                "last_error": status.reason or "平台未通过（对上报送：未采用）",
            },
        )
    elif status.state is RemoteState.RETRACTED:
        target, values = State.RETRACTED, {"note": status.reason or "平台已删除"}
    elif overdue:
        target, values = State.UNCONFIRMED, {"note": OVERDUE_NOTE}
    else:
        return State.SUBMITTED.value
    if (
        recorded_move(
            session,
            pub_id,
            (State.SUBMITTED,),
            target,
            now=now,
            action=f"publication.{target.value}",
            payload={"url": status.url, "reason": status.reason},
            next_check_at=None,
            **values,
        )
        and target is State.PUBLISHED
    ):
        on_published(ctx, session, pub_id, now)
    return target.value
