"""改期: moving a signed publication row to another day, signed by the 宣传分管领导.

Within the signed day 政府网站运行科 moves a row freely (`Publisher.reschedule`); another day,
earlier or later, is a change to what the leader signed, so it takes the 宣传分管领导's own
Ed25519 signature over (the item, the version, the channel, the old and the new date), which the
gate accepts as amending that row's date. Cancelling needs no signature: not publishing is safe.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import gate.model as g
from gate import Policy, evaluate
from gate.rules import role_problem
from gate.signature import amendment_payload_of
from orchestrator import attest, audit
from orchestrator.errors import Conflict, Forbidden, GateRefused, InvalidInput, NotFound
from orchestrator.models import DateAmendment, DateChangeRequest, Person, Publication
from orchestrator.permissions import person_by_username
from orchestrator.services import dispatch
from orchestrator.services.record import gate_person, review_record
from orchestrator.services.signing import CANDIDATE, signed_by
from orchestrator.states import State

# Rows whose day can still be moved: waiting for their time, or held for an upward adoption
WAITING = (State.SCHEDULED.value, State.HELD.value)


def signed_day(session: Session, pub: Publication) -> tuple[date, DateAmendment | None]:
    """The day the row may go out: its 审批表 row's 发布日期, or the last 改期 of the row."""
    last = session.scalar(
        select(DateAmendment)
        .where(DateAmendment.publication_id == pub.id)
        .order_by(DateAmendment.acted_at.desc(), DateAmendment.id.desc())
        .limit(1)
    )
    if last is not None:
        return last.new_date, last
    signed = next((c.publish_date for c in pub.version.channels if c.channel == pub.channel), None)
    if signed is None:  # a row no signed row names: the gate refuses it at send
        raise Conflict(f"发布 {pub.id} 的渠道不在已签发的审批表中", code="channel_not_signed")
    return signed, None


@dataclass(frozen=True)
class Amended:
    amendment: DateAmendment
    scheduled_at: datetime


def amend_date(
    session: Session,
    pub_id: int,
    *,
    new_date: date,
    actor: str,
    password: str,
    policy: Policy,
    at_time: time | None = None,
    comment: str = "",
    now: datetime | None = None,
) -> Amended:
    """Record a signed 改期 and move the row to `new_date` (at `at_time`, else the same time of
    day), or refuse it whole with the reason: nothing is written on a refusal."""
    now = now or datetime.now(UTC)
    pub = session.get(Publication, pub_id)
    if pub is None:
        raise NotFound(f"发布 {pub_id} 不存在", code="unknown_publication")
    person = person_by_username(session, actor)
    refuse_unentitled(person, policy, now)
    if pub.state not in WAITING:
        raise Conflict(
            f"发布 {pub_id} 当前为“{State(pub.state).label}”，发送已开始或已结束，不能改期",
            code="too_late_to_reschedule",
        )
    old_date, _ = signed_day(session, pub)
    when = _new_time(pub, new_date, at_time, policy, now)
    if new_date == old_date:
        raise InvalidInput(
            f"新日期与审批表的发布日期相同（{old_date.isoformat()}），当天内调整时间无需签署改期",
            code="same_day",
        )
    candidate = g.DateAmendment(
        submission_id=pub.submission.uid,
        fingerprint=pub.version.fingerprint,
        channel=pub.channel,
        old_date=old_date,
        new_date=new_date,
        actor_id=person.username,
        acted_at=now,
        signature=b"",
        comment=comment,
        id=CANDIDATE,
    )
    signed = signed_by(person, password, candidate, amendment_payload_of)
    _refuse_if_gate_would(session, pub, signed, when, person, policy, now)
    row = DateAmendment(
        submission_id=pub.submission_id,
        version_id=pub.version_id,
        publication_id=pub.id,
        fingerprint=candidate.fingerprint,
        channel=pub.channel,
        old_date=old_date,
        new_date=new_date,
        actor=person,
        acted_at=now,
        comment=comment,
        signature=signed.signature,
    )
    session.add(row)
    moved = session.execute(
        update(Publication)
        .where(Publication.id == pub.id, Publication.state.in_(WAITING))
        .values(scheduled_at=when, revision=Publication.revision + 1)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"发布 {pub_id} 的发送刚刚开始，不能改期", code="too_late_to_reschedule")
    session.flush()
    audit.record(  # the signed 改期 itself, attested like a review action
        session,
        "publication.amendment",
        actor=actor,
        subject=f"publication:{pub.id}",
        payload={"row": attest.claim(row), "signature": signed.signature.hex()},
        at=now,
    )
    dispatch.record_move(  # and the row's new time, so the chain's digest follows it
        session,
        pub.id,
        "publication.amend_date",
        State(pub.state),
        actor=actor,
        payload={
            "amendment": row.id,
            "channel": pub.channel,
            "old_date": old_date.isoformat(),
            "new_date": new_date.isoformat(),
            "scheduled_at": when,
            "comment": comment,
        },
        at=now,
        rebound=True,
    )
    _settle_requests(session, row, person, now)
    return Amended(row, when)


def _settle_requests(
    session: Session, amendment: DateAmendment, person: Person, now: datetime
) -> None:
    """A signed 改期 answers the row's pending 改期申请 (services/daterequests): the one asking
    for this very day is signed by it; one asking for another day is superseded."""
    pending = (DateChangeRequest.publication_id == amendment.publication_id) & (
        DateChangeRequest.state == "pending"
    )
    for state, same, note in (("signed", True, ""), ("withdrawn", False, "已由签署的改期取代")):
        match = DateChangeRequest.new_date == amendment.new_date
        session.execute(
            update(DateChangeRequest)
            .where(pending, match if same else ~match)
            .values(
                state=state,
                decided_by_id=person.id,
                decided_at=now,
                decision_note=note,
                amendment_id=amendment.id,
            )
            .execution_options(synchronize_session=False)
        )


def refuse_unentitled(person: Person, policy: Policy, now: datetime) -> None:
    if role_problem(gate_person(person), g.ReviewStage.SIGN_OFF, "", policy, now) is None:
        return
    labels = "、".join(sorted(r.label for r in policy.roles_for(g.ReviewStage.SIGN_OFF)))
    raise Forbidden(
        f"{person.name}无权签署改期：改到其他日期须由{labels}签署", code="not_permitted"
    )


def _new_time(
    pub: Publication, new_date: date, at_time: time | None, policy: Policy, now: datetime
) -> datetime:
    local = pub.scheduled_at.astimezone(policy.zone)
    clock = at_time or local.time().replace(tzinfo=None)
    when = datetime.combine(new_date, clock, tzinfo=policy.zone).astimezone(UTC)
    if new_date < now.astimezone(policy.zone).date():
        raise InvalidInput(f"新的发布日期 {new_date.isoformat()} 已过", code="time_in_past")
    return max(when, now + timedelta(seconds=1))


def _refuse_if_gate_would(
    session: Session,
    pub: Publication,
    signed: g.DateAmendment,
    when: datetime,
    person: Person,
    policy: Policy,
    now: datetime,
) -> None:
    """Judge the moved row with the new 改期 exactly as the send will; refuse what fails."""
    moved = g.PublicationRow(f"P{pub.id}", pub.channel, when)
    record = review_record(
        pub.submission, pub.version, extra_people=(person,), extra_amendments=(signed,)
    )
    record = replace(record, publications=(moved,), stored_images={})
    found = [
        v
        for v in evaluate(record, policy, now=now).violations
        if v.action_id == CANDIDATE or v.publication == moved.id
    ]
    if found:
        raise GateRefused(
            "改期未被审核闸门接受：" + "；".join(v.message for v in found),
            details=[v.code for v in found],
        )
