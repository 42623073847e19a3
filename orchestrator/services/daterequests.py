"""改期申请: 政府网站运行科 asks to move a signed row to another day; the 宣传分管领导 signs it.

Within the signed day a row moves at once (`Publisher.reschedule`). Another day changes what the
leader signed, so the clerk's move becomes a request that stays pending (the calendar shows it)
until the 宣传分管领导 signs it with their key — which is `amendments.amend_date`, the same
signed 改期 the API and CLI make — or refuses it. The clerk may withdraw it meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.base import ChannelKind
from gate import Policy
from orchestrator import audit
from orchestrator.errors import Conflict, InvalidInput, NotFound
from orchestrator.models import DateChangeRequest, Publication
from orchestrator.permissions import require
from orchestrator.services import amendments
from orchestrator.services.amendments import Amended
from orchestrator.services.org import person_by_username
from orchestrator.states import State

PENDING = "pending"
STATE_LABELS = {
    PENDING: "待签",
    "signed": "已签署",
    "refused": "未同意",
    "withdrawn": "已撤回",
}


def request_change(
    session: Session,
    pub_id: int,
    *,
    new_date: date,
    at_time: time | None,
    actor: str,
    kind: ChannelKind,
    policy: Policy,
    comment: str = "",
    now: datetime | None = None,
) -> DateChangeRequest:
    """Ask for the row to go out on `new_date` (at `at_time`, else its time of day)."""
    now = now or datetime.now(UTC)
    pub = _publication(session, pub_id)
    person = require(session, actor, "schedule", kind, now)
    _refuse_started(pub)
    old_date, _ = amendments.signed_day(session, pub)
    if new_date == old_date:
        raise InvalidInput(
            f"新日期与审批表的发布日期相同（{old_date.isoformat()}），当天内直接调整时间即可",
            code="same_day",
        )
    if new_date < now.astimezone(policy.zone).date():
        raise InvalidInput(f"新的发布日期 {new_date.isoformat()} 已过", code="time_in_past")
    if pending_for(session, [pub.id]):
        raise _already_requested(pub)
    row = DateChangeRequest(
        publication_id=pub.id,
        old_date=old_date,
        new_date=new_date,
        at_time=at_time.strftime("%H:%M") if at_time else None,
        comment=comment.strip(),
        requested_by=person,
        requested_at=now,
        state=PENDING,
        decision_note="",
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a second request for the row, made at the same moment
        raise _already_requested(pub) from None
    audit.record(
        session,
        "publication.date_request",
        actor=actor,
        subject=f"publication:{pub.id}",
        payload={"request": row.id, "old_date": old_date, "new_date": new_date, "at": row.at_time},
        at=now,
    )
    return row


def sign(
    session: Session,
    request_id: int,
    *,
    actor: str,
    password: str,
    policy: Policy,
    now: datetime | None = None,
) -> Amended:
    """The 宣传分管领导 signs the request: the signed 改期 is made exactly as by hand."""
    now = now or datetime.now(UTC)
    req = _pending(session, request_id)
    done = amendments.amend_date(
        session,
        req.publication_id,
        new_date=req.new_date,
        at_time=time.fromisoformat(req.at_time) if req.at_time else None,
        actor=actor,
        password=password,
        policy=policy,
        comment=req.comment or f"改期申请 {req.id}",
        now=now,
    )
    session.refresh(req)  # amend_date settled it: signed by this very amendment
    assert req.state == "signed" and req.amendment_id == done.amendment.id
    return done


def refuse(
    session: Session,
    request_id: int,
    *,
    actor: str,
    policy: Policy,
    note: str,
    now: datetime | None = None,
) -> DateChangeRequest:
    """The 宣传分管领导 does not agree: the row stays on its signed day."""
    now = now or datetime.now(UTC)
    if not note.strip():
        raise InvalidInput("不同意改期须说明原因", code="reason_required")
    req = _pending(session, request_id)
    person = person_by_username(session, actor)
    amendments.refuse_unentitled(person, policy, now)
    _close(session, req, "refused", person.id, actor, now, note=note)
    return req


def withdraw(
    session: Session,
    request_id: int,
    *,
    actor: str,
    kind: ChannelKind,
    now: datetime | None = None,
) -> DateChangeRequest:
    """Whoever may schedule the row takes the request back before it is signed."""
    now = now or datetime.now(UTC)
    req = _pending(session, request_id)
    person = require(session, actor, "schedule", kind, now)
    _close(session, req, "withdrawn", person.id, actor, now)
    return req


def pending_for(session: Session, pub_ids: Iterable[int]) -> dict[int, DateChangeRequest]:
    """The pending request of each row that has one, by publication id."""
    ids = list(pub_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(DateChangeRequest).where(
            DateChangeRequest.publication_id.in_(ids), DateChangeRequest.state == PENDING
        )
    )
    return {r.publication_id: r for r in rows}


def waiting_requests(session: Session) -> list[DateChangeRequest]:
    """Pending requests whose row can still move, oldest first: what the leader has to sign."""
    return list(
        session.scalars(
            select(DateChangeRequest)
            .join(Publication, Publication.id == DateChangeRequest.publication_id)
            .where(DateChangeRequest.state == PENDING, Publication.state.in_(amendments.WAITING))
            .order_by(DateChangeRequest.id)
        )
    )


def _publication(session: Session, pub_id: int) -> Publication:
    pub = session.get(Publication, pub_id)
    if pub is None:
        raise NotFound(f"发布 {pub_id} 不存在", code="unknown_publication")
    return pub


def _refuse_started(pub: Publication) -> None:
    if pub.state not in amendments.WAITING:
        raise Conflict(
            f"发布 {pub.id} 当前为“{State(pub.state).label}”，发送已开始或已结束，不能改期",
            code="too_late_to_reschedule",
        )


def get(session: Session, request_id: int) -> DateChangeRequest:
    req = session.get(DateChangeRequest, request_id)
    if req is None:
        raise NotFound(f"改期申请 {request_id} 不存在", code="unknown_request")
    return req


def _pending(session: Session, request_id: int) -> DateChangeRequest:
    req = get(session, request_id)
    if req.state != PENDING:
        raise Conflict(
            f"改期申请 {request_id} 已{STATE_LABELS.get(req.state, req.state)}，不能再办理",
            code="request_not_pending",
        )
    _refuse_started(req.publication)
    return req


def _already_requested(pub: Publication) -> Conflict:
    return Conflict(
        f"发布 {pub.id} 已有待宣传分管领导签署的改期申请，请先撤回它", code="request_pending"
    )


# The audit action that closes a request without a signature, by the state it ends in.
CLOSING_ACTIONS = {
    "refused": "publication.date_request_refused",
    "withdrawn": "publication.date_request_withdrawn",
}


def _close(
    session: Session,
    req: DateChangeRequest,
    state: str,
    person_id: int,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> None:
    """Refused (with its reason, `note`) or withdrawn: who decided and when, recorded on the
    row and in the audit chain."""
    req.state = state
    req.decided_by_id = person_id
    req.decided_at = now
    req.decision_note = (note or "").strip()
    audit.record(
        session,
        CLOSING_ACTIONS[state],
        actor=actor,
        subject=f"publication:{req.publication_id}",
        payload={"request": req.id} if note is None else {"request": req.id, "note": note.strip()},
        at=now,
    )
