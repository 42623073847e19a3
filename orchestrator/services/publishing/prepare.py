"""Before the send: a queued row, checked by the gate again on exactly what is about to go out,
moves queued → sending in a committed compare-and-set and becomes a `SendPlan`. A paused channel
puts it back as `scheduled`; a refusal fails it (with an integrity alert); an assisted channel
hands it to a person (待人工发布).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, object_session

from channels.item import Item
from gate import evaluate
from orchestrator import logs
from orchestrator.errors import GateRefused, SanshenError
from orchestrator.models import Publication
from orchestrator.services import alerts
from orchestrator.services.hub import Mode
from orchestrator.services.moves import move, recorded_move
from orchestrator.services.publishing.shared import (
    CHANNEL_PAUSED,
    QUOTA_SPENT,
    WAITING_FOR_PAUSE,
    Context,
    SendPlan,
    attempt,
    local_moment,
)
from orchestrator.services.review import origin_problem
from orchestrator.states import State


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
    row needs no adapter settings: a person publishes it. The part of the record the rows of
    one version share comes from the worker's cache while nothing it covers has changed
    (`ctx.records`, services.record_cache); the row, its origin and the image bytes are read
    for each send."""
    if not assisted:
        ctx.hub.get(pub.channel)  # raises ChannelNotConfigured
    session = object_session(pub)
    assert session is not None
    inputs = ctx.records.inputs(pub, store=ctx.app.blobs, origin=origin_problem(session, pub))
    verdict = evaluate(inputs.record, ctx.app.policy, now=ctx.clock())
    if not verdict.passed:
        raise GateRefused(
            "发送前复核未通过：" + "；".join(v.message for v in verdict.violations),
            details=list(verdict.codes),
        )
    # rendered from the values the gate just checked (services.record_cache)
    return inputs.item(pub.channel, reference=f"P{pub.id}", store=ctx.app.blobs)


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
