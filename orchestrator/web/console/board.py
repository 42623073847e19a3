"""The status board: every submission with publications, a column per channel, the ones that
need attention first; the review waits beside it. console.js swaps in /board/rows every few
seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from gate.rules import ReviewContext
from orchestrator.models import Department, Publication, Submission
from orchestrator.services import deadlines, review
from orchestrator.states import State
from orchestrator.web.console.attention import (
    ATTENTION_STATES,
    BAD_VERDICTS,
    OVERDUE_GRACE,
    WAITING_STATES,
    needs_attention,
    overdue,
)
from orchestrator.web.console.board_filter import BoardFilter
from orchestrator.web.console.common import Who, ordered_channels
from orchestrator.web.deps import get_app
from orchestrator.web.templating import fragment, page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@dataclass
class BoardRow:
    submission_id: int
    title: str
    department: str
    attention: bool
    cells: dict[str, Publication]


def board_rows(session: Session, flt: BoardFilter, now: datetime) -> tuple[list[BoardRow], bool]:
    """One page of submissions that have publications: failed, unconfirmed and overdue first,
    then newest first. Only the page's own publications are loaded."""
    attention = func.max(
        case(
            (Publication.state.in_(ATTENTION_STATES), 1),
            (
                and_(
                    Publication.state.in_(WAITING_STATES),
                    Publication.scheduled_at < now - OVERDUE_GRACE,
                ),
                1,
            ),
            (
                and_(
                    Publication.state == State.PUBLISHED.value,
                    Publication.verdict.in_(BAD_VERDICTS),
                ),
                1,
            ),
            else_=0,
        )
    )
    picked = select(Publication.submission_id, attention.label("attention"))
    if flt.department:
        picked = picked.join(Submission, Submission.id == Publication.submission_id).join(
            Department, Department.id == Submission.department_id
        )
    picked = (
        picked.where(*flt.conditions())
        .group_by(Publication.submission_id)
        .order_by(attention.desc(), Publication.submission_id.desc())
        .offset((flt.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    ids = [row.submission_id for row in session.execute(picked)]
    more, ids = len(ids) > PAGE_SIZE, ids[:PAGE_SIZE]
    if not ids:
        return [], False
    pubs = session.scalars(
        select(Publication)
        .where(Publication.submission_id.in_(ids))
        .options(
            selectinload(Publication.version),
            selectinload(Publication.submission).selectinload(Submission.department),
        )
        .order_by(Publication.id)
    ).all()
    rows: dict[int, BoardRow] = {}
    for pub in pubs:  # by id: a later version's row replaces an earlier one in its cell
        row = rows.get(pub.submission_id)
        if row is None:
            row = rows[pub.submission_id] = BoardRow(
                pub.submission_id, "", pub.submission.department.name, False, {}
            )
        row.cells[pub.channel] = pub
        row.title = pub.version.title
    for row in rows.values():
        row.attention = any(needs_attention(p, now) for p in row.cells.values())
    return [rows[i] for i in ids if i in rows], more


REVIEW_WAITS_SHOWN = 100


def review_waits(session: Session, department: str | None, now: datetime) -> list[Any]:
    """Items in review with the stage they wait at, overdue first, then longest waiting
    (services/deadlines: the limits the reminders follow)."""
    app = get_app()
    query = deadlines.open_submissions().limit(REVIEW_WAITS_SHOWN)
    if department:
        query = query.join(Department, Department.id == Submission.department_id).where(
            Department.code == department
        )
    waits = []
    for sub in session.scalars(query):
        context = ReviewContext(review.review_record(sub), app.policy, now)
        wait = deadlines.wait_of(sub, context, app.settings)
        if wait is not None:
            waits.append(wait)
    return sorted(waits, key=lambda w: (not w.overdue(now), w.since))


def _board_context(request: Request) -> dict[str, Any]:
    flt = BoardFilter.parse(request.query_params)
    now = datetime.now(UTC)
    with get_app().db.read() as session:
        rows, more = board_rows(session, flt, now)
        waits = review_waits(session, flt.department, now)
        departments = session.execute(
            select(Department.code, Department.name).order_by(Department.name)
        ).all()
    return {
        "filter": flt,
        "rows": rows,
        "more": more,
        "now": now,
        "channels": [flt.channel] if flt.channel else ordered_channels(),
        "all_channels": ordered_channels(),
        "states": list(State),
        "departments": departments,
        "overdue": overdue,
        "waits": waits,
    }


@router.get("/board", response_class=HTMLResponse)
def board(request: Request, who: Who) -> HTMLResponse:
    return page(request, "board.html", who, **_board_context(request))


@router.get("/board/rows", response_class=HTMLResponse)
def board_fragment(request: Request, who: Who) -> HTMLResponse:
    return fragment(request, "board_rows.html", **_board_context(request))
