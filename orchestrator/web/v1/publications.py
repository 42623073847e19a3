"""/api/v1/publications: the board of every channel's rows, one row in detail, and what may be
done to a row — reschedule, 改期, cancel, retract, send again, release or drop a held row,
confirm it by hand — and 撤稿 of a whole submission.

The state changes go through the API process's one Publisher (web.deps.publisher); each
answers the row's state after it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import time as day_time
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.errors import Forbidden, InvalidInput
from orchestrator.models import Attempt, Publication
from orchestrator.services import amendments, submissions
from orchestrator.services.publishing import get_publication
from orchestrator.states import State
from orchestrator.web.deps import MAX_ROW_ID, RowId, Who, get_app, publisher
from orchestrator.web.refusals import ApiRoute, answer_other_methods, refusals
from orchestrator.web.schemas import NO_NUL, ChannelName, Day
from orchestrator.web.v1.board import (
    PublicationStates,
    board_filters,
    board_page,
    publication_item,
)
from orchestrator.web.v1.publication_schemas import (
    AmendDateIn,
    AmendedOut,
    AttemptOut,
    CancelIn,
    ConfirmIn,
    PublicationOut,
    PublicationPage,
    PublicationState,
    ReasonIn,
    RescheduleIn,
    RetractAllOut,
    RetryIn,
)
from orchestrator.web.v1.shared import Page, PerPage, iso_day, local, utc_now

router = APIRouter(prefix="/api/v1", tags=["发布"], route_class=ApiRoute)
Handler = TypeVar("Handler", bound=Callable[..., Any])

FROM = "计划发布日期起（上海时间，YYYY-MM-DD）"
TO = "计划发布日期止（含当日）"


def parse_day(text: str | None, name: str) -> date | None:
    return None if text is None else iso_day(text, f"参数 {name} 的日期“{text}”无效")


@router.get("/publications", response_model=PublicationPage)
def list_publications(
    who: Who,
    page: Page = 1,
    per_page: PerPage = 50,
    state: PublicationStates = None,
    channel: Annotated[list[ChannelName] | None, Query(description="渠道名，可多次给出")] = None,
    department: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="科室/窗口代码")
    ] = None,
    submission: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="稿件编号")] = None,
    date_from: Annotated[Day | None, Query(alias="from", description=FROM)] = None,
    date_to: Annotated[Day | None, Query(alias="to", description=TO)] = None,
) -> PublicationPage:
    """Every channel's publications: overdue, failed and unconfirmed first, then by time."""
    with get_app().db.read() as session:
        filters = board_filters(
            session,
            states=state or [],
            channels=channel or [],
            department=department,
            submission=submission,
            date_from=parse_day(date_from, "from"),
            date_to=parse_day(date_to, "to"),
        )
        return board_page(session, filters, page, per_page)


def publication_out(session: Session, pub: Publication) -> PublicationOut:
    version = pub.version
    item = publication_item(
        pub, version.number, version.title, version.submission.department.code, utc_now()
    )
    attempts = session.scalars(
        select(Attempt).where(Attempt.publication_id == pub.id).order_by(Attempt.id)
    )
    return PublicationOut(
        **item,
        source_platform=pub.source_platform,
        source_url=pub.source_url,
        revision=pub.revision,
        attempt_log=[
            AttemptOut(
                operation=a.operation,
                started_at=a.started_at,
                started_at_local=local(a.started_at),
                duration_ms=a.duration_ms,
                outcome=a.outcome,
                error_class=a.error_class,
                message=a.message,
            )
            for a in attempts
        ],
    )


@router.get("/publications/{pub_id}", response_model=PublicationOut, responses=refusals(404))
def get_publication_detail(pub_id: RowId, who: Who) -> PublicationOut:
    with get_app().db.read() as session:
        return publication_out(session, get_publication(session, pub_id))


def publication_state(pub_id: int) -> PublicationState:
    with get_app().db.read() as session:
        pub = get_publication(session, pub_id)
        return PublicationState(
            publication=pub.id,
            state=pub.state,
            state_label=State(pub.state).label,
            scheduled_at=pub.scheduled_at,
            scheduled_at_local=local(pub.scheduled_at),
        )


def state_change(action: str, *refused: int) -> Callable[[Handler], Handler]:
    """POST /publications/{pub_id}/<action>: a change of one row that answers its new state.
    Beside the unknown row (404), its state (409) and the role (403): `refused`."""
    return router.post(
        f"/publications/{{pub_id}}/{action}",
        response_model=PublicationState,
        responses=refusals(403, 404, 409, *refused),
    )


@state_change("reschedule")
def reschedule(pub_id: RowId, body: RescheduleIn, who: Who) -> PublicationState:
    """Set the publish time, or publish now: only before the send has started."""
    if body.now == (body.at is not None):
        raise InvalidInput(
            "请给出新的发布时间（at），或选择立即发布（now），二者选一", code="bad_time"
        )
    when = utc_now() if body.now else body.at
    assert when is not None
    publisher().reschedule(pub_id, when=when, actor=who.username)
    return publication_state(pub_id)


@router.post(
    "/publications/{pub_id}/amend-date",
    response_model=AmendedOut,
    responses=refusals(403, 404, 409),
)
def amend_date(pub_id: RowId, body: AmendDateIn, who: Who) -> AmendedOut:
    """改期 to another day: the 宣传分管领导 signs it with their key (password re-asked)."""
    app = get_app()
    clock = day_time.fromisoformat(body.at) if body.at else None
    with app.db.session() as session:
        done = amendments.amend_date(
            session,
            pub_id,
            new_date=body.new_date,
            at_time=clock,
            actor=who.username,
            password=body.password,
            policy=app.policy,
            comment=body.comment,
        )
        return AmendedOut(
            publication=pub_id,
            amendment=done.amendment.id,
            old_date=done.amendment.old_date,
            new_date=done.amendment.new_date,
            scheduled_at=done.scheduled_at,
            scheduled_at_local=local(done.scheduled_at),
        )


@state_change("cancel")
def cancel(pub_id: RowId, body: CancelIn, who: Who) -> PublicationState:
    publisher().cancel(pub_id, reason=body.reason, actor=who.username)
    return publication_state(pub_id)


@state_change("retract", 503)
def retract(pub_id: RowId, body: ReasonIn, who: Who) -> PublicationState:
    publisher().retract(pub_id, reason=body.reason, actor=who.username)
    return publication_state(pub_id)


@state_change("retry")
def retry(pub_id: RowId, body: RetryIn, who: Who) -> PublicationState:
    """Send a failed row again; an unconfirmed one only with checked=true (platform checked)."""
    publisher().retry(pub_id, actor=who.username, checked=body.checked)
    return publication_state(pub_id)


@state_change("release")
def release(pub_id: RowId, who: Who) -> PublicationState:
    """综合科: a row held for an upward adoption (待上级采用) goes out as the office's own
    article, within its signed day (another day needs the 宣传分管领导's 改期 first)."""
    publisher().release(pub_id, actor=who.username)
    return publication_state(pub_id)


@state_change("drop")
def drop(pub_id: RowId, body: ReasonIn, who: Who) -> PublicationState:
    """综合科: a row held for an upward adoption is not published on its platform."""
    publisher().drop(pub_id, reason=body.reason, actor=who.username)
    return publication_state(pub_id)


@state_change("confirm")
def confirm(pub_id: RowId, body: ConfirmIn, who: Who) -> PublicationState:
    """Seen on the platform (or adopted upward): published, with its URL."""
    publisher().confirm_by_hand(pub_id, url=body.url, actor=who.username)
    return publication_state(pub_id)


@router.post(
    "/submissions/{submission_id}/retract",
    response_model=RetractAllOut,
    responses=refusals(403, 404, 409),
)
def retract_submission(submission_id: RowId, body: ReasonIn, who: Who) -> RetractAllOut:
    """撤稿 on every channel the submission went out on; each channel answers for itself."""
    with get_app().db.read() as session:
        submissions.get(session, submission_id)
    results = publisher().retract_all(submission_id, reason=body.reason, actor=who.username)
    refused = [r for r in results.values() if r.startswith("not_permitted")]
    if refused and len(refused) == len(results):
        raise Forbidden(refused[0].partition(": ")[2], code="not_permitted", details=results)
    return RetractAllOut(
        submission=submission_id,
        results=results,
        all_retracted=all(r == State.RETRACTED.value for r in results.values()),
    )


answer_other_methods(router)
