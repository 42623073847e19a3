"""Settling: a row stuck in `sending` (the platform's answer was lost) is decided by asking the
platform what it holds for the row's idempotency key, never by sending again blind.

Found: the row takes the platform's state. Not there after the settle time: a retry (retry.py).
The platform cannot be asked: again later with a backoff, and after a bounded number of checks
a person decides (待人工确认).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channels import errors as ce
from channels.base import Receipt
from orchestrator.models import Attempt, Publication
from orchestrator.services.hub import ChannelNotConfigured
from orchestrator.services.moves import recorded_move
from orchestrator.services.publishing.retry import retry_later
from orchestrator.services.publishing.shared import (
    DRAFT_ONLY_NOTE,
    Context,
    ask_again,
    attempt,
    backoff,
    on_published,
    receipt_values,
    state_of,
    unconfirmed,
)
from orchestrator.states import State


def settle(ctx: Context, pub_id: int, *, at_once: bool = False) -> str:
    """Ask the platform what it holds for the key of a row stuck in `sending`. `at_once`:
    right after a lost answer, on a platform that makes one article per key; then a resend
    is safe, but giving up is not (the lost call may still land)."""
    now = ctx.clock()
    with ctx.app.db.read() as session:
        pub = session.get(Publication, pub_id)
        if pub is None or pub.state != State.SENDING.value:
            return "open" if pub is None else pub.state
        channel_name, key, tries, first = (
            pub.channel,
            pub.idempotency_key,
            pub.attempts,
            pub.sent_at or now,
        )
        sending_since = pub.state_changed_at
        failed_checks = _failed_finds(session, pub_id, sending_since)
    t0 = time.monotonic()
    try:
        adapter = ctx.hub.get(channel_name)
        found = adapter.find(key, since=first)  # the first send: how far back to look
    except ce.NotSupported as error:
        note = "平台无法按幂等键核对，需人工确认是否已发布"
        if isinstance(error, ce.SearchInconclusive):
            note = f"{error}，需人工确认"
        return unconfirmed(ctx, pub_id, now, "find", t0, error, note)
    except (ce.ChannelError, ChannelNotConfigured) as error:
        return _find_failed(ctx, pub_id, sending_since, failed_checks + 1, now, t0, error)
    draft_only = found is not None and bool(found.extra.get("draft"))
    if draft_only and not adapter.capabilities.resumes_drafts:
        return unconfirmed(
            ctx, pub_id, now, "find", t0, ce.OutcomeUnknown("平台只有草稿"), DRAFT_ONLY_NOTE
        )
    with ctx.app.db.session(durable=False) as session:
        attempt(session, pub_id, "find", now, time.monotonic() - t0, "ok")
        if found is not None and not draft_only:
            return _settled(ctx, session, pub_id, found, now)
        if found is None:
            # The platform holds nothing for the key after the settle time: safe to retry.
            resend = ce.Unavailable("平台未收到该稿件（已核对），将重新发送")
        else:
            # Only a draft, and publishing the same key finishes it: resend.
            resend = ce.Unavailable("平台只有草稿（发布步骤未生效，已核对），将继续发布")
        return retry_later(
            ctx,
            session,
            pub_id,
            channel_name,
            tries,
            first,
            resend,
            now,
            may_give_up=not at_once,
        )


def _failed_finds(session: Session, pub_id: int, since: datetime) -> int:
    """The checks of this send (since the row became `sending`) that the platform could not
    answer."""
    return (
        session.scalar(
            select(func.count(Attempt.id)).where(
                Attempt.publication_id == pub_id,
                Attempt.operation == "find",
                Attempt.outcome == "retryable",
                Attempt.started_at >= since,
            )
        )
        or 0
    )


def _find_failed(
    ctx: Context,
    pub_id: int,
    sending_since: datetime,
    failed: int,
    now: datetime,
    t0: float,
    error: ce.ChannelError | ChannelNotConfigured,
) -> str:
    """A check that could not be made is asked again later, backing off exponentially
    (behind the other stuck rows, so a platform that is down keeps no round's places from
    the others), and never sooner than a rate limit's retry-after. Bounded: after
    `settle_max_checks` failed checks, or when the next one would come later than
    `settle_window` after the send started (a daily quota), a person takes over."""
    s = ctx.settings
    delay = backoff(s, failed)
    if isinstance(error, ce.RateLimited):
        delay = max(delay, error.retry_after)
    deadline = sending_since + timedelta(seconds=s.settle_window)
    if failed >= s.settle_max_checks or now + timedelta(seconds=delay) > deadline:
        note = (
            f"向平台核对 {failed} 次未成功（{error}），无法确认是否已发布："
            "请在平台后台核对，已发布则人工确认，未发布则重发"
        )
        return unconfirmed(ctx, pub_id, now, "find", t0, error, note)
    with ctx.app.db.session(durable=False) as session:
        attempt(session, pub_id, "find", now, time.monotonic() - t0, "retryable", error)
        ask_again(session, pub_id, State.SENDING, now, delay, error)
    return "open"


def _settled(ctx: Context, session: Session, pub_id: int, found: Receipt, now: datetime) -> str:
    target = state_of(found.state)
    if not recorded_move(
        session,
        pub_id,
        (State.SENDING,),
        target,
        now=now,
        action="publication.settled",
        payload={"state": target.value, "external_id": found.external_id},
        **receipt_values(found, now, ctx.settings.confirm_first_check),
    ):
        return "lost-race"  # the worker's own settle and the reconciler's met
    if target is State.PUBLISHED:
        on_published(ctx, session, pub_id, now)
    return target.value
