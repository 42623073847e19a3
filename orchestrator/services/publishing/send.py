"""Sending: a queued row, made ready by prepare.py, goes to its platform once.

The row moved queued → sending in a committed compare-and-set before the platform is called; the
answer moves it on (published, submitted, failed, a retry later), and an answer that was lost
leaves it `sending` for the reconciler (settle.py).

The claim is durable (synced to disk before the call); the record of the answer need not be: a
power cut that loses it leaves the row `sending`, and the reconciler asks the platform again
(`db.session(durable=False)`, orchestrator/sqlite_writer.py).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import tenacity
from sqlalchemy import update
from sqlalchemy.orm import Session

from channels import errors as ce
from channels.base import Receipt
from orchestrator import logs
from orchestrator.models import Publication
from orchestrator.services.moves import move, record_move
from orchestrator.services.publishing.prepare import prepare
from orchestrator.services.publishing.retry import retry_later
from orchestrator.services.publishing.settle import settle
from orchestrator.services.publishing.shared import (
    DRAFT_ONLY_NOTE,
    Context,
    SendPlan,
    attempt,
    log,
    on_published,
    receipt_values,
    send_failed,
    state_of,
    unconfirmed,
)
from orchestrator.states import State


# the one entry point a worker calls for a queued row
def send(ctx: Context, pub_id: int) -> str:
    with logs.log_context(publication_id=pub_id):  # `prepare` binds the other ids
        return _send(ctx, pub_id)


def _send(ctx: Context, pub_id: int) -> str:
    plan = prepare(ctx, pub_id)
    if isinstance(plan, str):
        return plan
    channel = ctx.hub.get(plan.channel)
    started, t0 = ctx.clock(), time.monotonic()
    try:
        receipt = _quick_retry(channel.publish, plan.item, plan.key)
    except ce.ChannelError as error:
        log.warning("publication %s on %s: %s (%s)", pub_id, plan.channel, error.code, error)
        return _failed_call(ctx, plan, error, started, time.monotonic() - t0)
    log.info(
        "publication %s on %s: %s %s",
        pub_id,
        plan.channel,
        receipt.state.value,
        receipt.external_id,
    )
    return _sent(ctx, plan, receipt, started, time.monotonic() - t0)


def _sent(ctx: Context, plan: SendPlan, receipt: Receipt, started: datetime, took: float) -> str:
    now = ctx.clock()
    if receipt.extra.get("draft"):
        # The adapter found only its own earlier draft and would not risk a second submit.
        return unconfirmed(
            ctx,
            plan.pub_id,
            now,
            "publish",
            time.monotonic() - took,
            ce.OutcomeUnknown("平台只有草稿"),
            DRAFT_ONLY_NOTE,
        )
    with ctx.app.db.session(durable=False) as session:
        attempt(session, plan.pub_id, "publish", started, took, "ok")
        target = state_of(receipt.state)
        moved = move(
            session,
            plan.pub_id,
            (State.SENDING,),
            target,
            now=now,
            **receipt_values(receipt, now, ctx.settings.confirm_first_check),
        )
        # recorded whether or not the row moved: the platform's answer is in the chain
        record_move(
            session,
            plan.pub_id,
            "publication.sent",
            target if moved else None,
            payload={
                "state": target.value,
                "external_id": receipt.external_id,
                "url": receipt.url,
            },
            at=now,
        )
        if target is State.PUBLISHED:
            on_published(ctx, session, plan.pub_id, now)
    return target.value


def _failed_call(
    ctx: Context, plan: SendPlan, error: ce.ChannelError, started: datetime, took: float
) -> str:
    now = ctx.clock()
    with ctx.app.db.session(durable=False) as session:
        if isinstance(error, ce.OutcomeUnknown):
            # Stay `sending`: the platform is asked what it holds before anything is resent.
            attempt(session, plan.pub_id, "publish", started, took, "unknown", error)
            session.execute(
                update(Publication)
                .where(Publication.id == plan.pub_id)
                .values(last_error_class=error.code, last_error=str(error))
            )
        else:
            return _retry_or_fail(ctx, plan, error, started, took, now, session)
    if ctx.hub.get(plan.channel).capabilities.dedupes_by_key:
        # The platform makes one article per key even if the lost call is still running
        # there: ask now rather than wait out the settle time (a failed ask leaves the row
        # to the reconciler, as for every other platform).
        return settle(ctx, plan.pub_id, at_once=True)
    return "unknown"


def _retry_or_fail(
    ctx: Context,
    plan: SendPlan,
    error: ce.ChannelError,
    started: datetime,
    took: float,
    now: datetime,
    session: Session,
) -> str:
    if isinstance(error, ce.Retryable):
        attempt(session, plan.pub_id, "publish", started, took, "retryable", error)
        return retry_later(
            ctx,
            session,
            plan.pub_id,
            plan.channel,
            plan.attempt,
            plan.first_attempt_at,
            error,
            now,
        )
    attempt(session, plan.pub_id, "publish", started, took, "permanent", error)
    return send_failed(
        session,
        plan.pub_id,
        now,
        error.code,
        str(error),
        payload={"error": error.code, "message": str(error)},
    )


def _quick_retry(call: Any, *args: Any) -> Any:
    """A short in-call retry for a blip (`Unavailable`: nothing reached the platform).
    Longer waits go back to the database as a scheduled retry, never into the broker."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(ce.Unavailable),
        stop=tenacity.stop_after_attempt(2),
        wait=tenacity.wait_random(0.2, 0.6),
        reraise=True,
    )
    return retrying(call, *args)
