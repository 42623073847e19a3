"""Sending: a queued row, checked by the gate again, goes to its platform once.

The row moves queued → sending in a committed compare-and-set before the platform is called; the
answer moves it on (published, submitted, failed, a retry later), and an answer that was lost
leaves it `sending` for the reconciler (settle.py). A paused channel puts the row back as
`scheduled`; an assisted channel makes it 待人工发布.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import tenacity
from sqlalchemy import update
from sqlalchemy.orm import Session, object_session

from channels import errors as ce
from channels.base import Receipt
from channels.item import Item
from gate import evaluate
from orchestrator import logs
from orchestrator.errors import GateRefused, SanshenError
from orchestrator.models import Publication
from orchestrator.render import render
from orchestrator.services import alerts
from orchestrator.services.hub import Mode
from orchestrator.services.moves import move, record_move, recorded_move
from orchestrator.services.publishing.retry import retry_later
from orchestrator.services.publishing.settle import settle
from orchestrator.services.publishing.shared import (
    CHANNEL_PAUSED,
    DRAFT_ONLY_NOTE,
    QUOTA_SPENT,
    WAITING_FOR_PAUSE,
    Context,
    SendPlan,
    attempt,
    local_moment,
    log,
    on_published,
    receipt_values,
    send_failed,
    state_of,
    unconfirmed,
)
from orchestrator.services.review import origin_problem, review_record
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


def prepare(ctx: Context, pub_id: int) -> SendPlan | str:
    """Check and render in a read transaction; only the compare-and-set takes the write
    lock (SQLite has one writer at a time)."""
    now = ctx.clock()
    refusal: SanshenError | None = None
    with ctx.app.db.read() as session:
        pub = session.get(Publication, pub_id)
        if pub is None:
            return "missing"
        logs.bind(submission_id=pub.submission_id, version_id=pub.version_id, channel=pub.channel)
        if pub.state != State.QUEUED.value:
            return f"skipped:{pub.state}"
        channel, key, tries = pub.channel, pub.idempotency_key, pub.attempts + 1
        first = pub.sent_at or now
        wait = ctx.gate.wait_left(channel)
        assisted = False
        if not wait:
            try:
                assisted = ctx.hub.mode(channel) is Mode.ASSISTED
                item = checked_item(ctx, pub, assisted=assisted)
            except SanshenError as error:
                refusal = _quota_moved_the_day(pub, error) or error
    with ctx.app.db.session() as session:
        if wait:
            return _wait_for_pause(session, pub_id, now, wait)
        if refusal is not None:
            return _refuse(session, pub_id, now, refusal)
        if assisted:
            return _hand_to_person(session, pub_id, now)
        if not move(
            session,
            pub_id,
            (State.QUEUED,),
            State.SENDING,
            now=now,
            attempts=Publication.attempts + 1,
            sent_at=first,
            next_check_at=None,  # a stuck send is asked about settle_after from now
        ):
            return "lost-race"
    return SendPlan(pub_id, channel, key, item, tries, first)


def _wait_for_pause(session: Session, pub_id: int, now: datetime, wait: float) -> str:
    until = now + timedelta(seconds=wait)
    # scheduled_at is bound (attest): the new time is recorded with its digest
    recorded_move(
        session,
        pub_id,
        (State.QUEUED,),
        State.SCHEDULED,
        now=now,
        action="publication.pause",
        payload={"wait": round(wait, 3)},
        rebound=True,
        scheduled_at=until,
        # marks the row as waiting for the pause: a resume brings it forward
        last_error_class=CHANNEL_PAUSED,
        last_error=f"渠道暂停中，将于{local_moment(until, now)} 后发送",
    )
    return "paused"


def _refuse(session: Session, pub_id: int, now: datetime, refusal: SanshenError) -> str:
    if recorded_move(
        session,
        pub_id,
        (State.QUEUED,),
        State.FAILED,
        now=now,
        action="publication.refused",
        payload={"code": refusal.code, "reason": refusal.message},
        last_error_class=refusal.code,
        last_error=refusal.message,
    ):
        attempt(session, pub_id, "publish", now, 0, "refused", refusal)
        alerts.raise_integrity(session, pub_id, refusal, now=now)
    return "refused"


def _hand_to_person(session: Session, pub_id: int, now: datetime) -> str:
    """The gate passed on exactly this row: a person now publishes it by hand on the platform
    (the publish package) and records the URL."""
    if recorded_move(
        session,
        pub_id,
        (State.QUEUED,),
        State.MANUAL,
        now=now,
        action="publication.manual",
        mode=Mode.ASSISTED.value,
        next_check_at=None,
        last_error=None,
        last_error_class=None,
    ):
        return State.MANUAL.value
    return "lost-race"


def checked_item(ctx: Context, pub: Publication, *, assisted: bool = False) -> Item:
    """The gate again, right before the send, on exactly what is about to go out: this
    row's channel and time against the signed rows, and the stored image bytes. An assisted
    row needs no adapter settings: a person publishes it."""
    if not assisted:
        ctx.hub.get(pub.channel)  # raises ChannelNotConfigured
    session = object_session(pub)
    record = review_record(
        pub.submission,
        pub.version,
        store=ctx.app.blobs,
        publications=(pub,),
        origin=lambda row: origin_problem(session, row),
    )
    verdict = evaluate(record, ctx.app.policy, now=ctx.clock())
    if not verdict.passed:
        raise GateRefused(
            "发送前复核未通过：" + "；".join(v.message for v in verdict.violations),
            details=list(verdict.codes),
        )
    return render(pub.version, pub.channel, reference=f"P{pub.id}", store=ctx.app.blobs)


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
    with ctx.app.db.session() as session:
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
    with ctx.app.db.session() as session:
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


def _quota_moved_the_day(pub: Publication, refusal: SanshenError) -> SanshenError | None:
    """A row that a spent daily quota or a channel's pause carried past its signed day is
    refused by the gate like any row on an unsigned day, but nothing was tampered with: say
    what happened and what to do, and raise no integrity alert."""
    if pub.last_error_class not in WAITING_FOR_PAUSE:
        return None
    if set(getattr(refusal, "details", None) or ()) != {"publication_date_not_signed"}:
        return None
    if pub.last_error_class == QUOTA_SPENT:
        why, code = "平台当日调用次数用完", "quota_moved_past_signed_day"
    else:
        why, code = "渠道暂停", "pause_moved_past_signed_day"
    return GateRefused(
        f"{why}，发布顺延到了审批表发布日期之后：请宣传分管领导签署改期后重发", code=code
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
