"""The publication board behind GET /api/v1/publications and /upward/queue: the filters, and
one page of rows with those needing a look (overdue, failed, unconfirmed) first, then by time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from orchestrator.errors import InvalidInput
from orchestrator.models import Department, Publication, Submission, Version
from orchestrator.states import State
from orchestrator.web.schemas import one_of
from orchestrator.web.v1.publication_schemas import PublicationItem, PublicationPage
from orchestrator.web.v1.shared import (
    SHANGHAI,
    channel_label,
    check_channel,
    check_department,
    local,
    local_or_none,
    utc_now,
)

PublicationStateName = Annotated[str, one_of(lambda: (st.value for st in State))]
# `?state=` of the board, any number of times.
PublicationStates = Annotated[
    list[PublicationStateName] | None, Query(description="状态，可多次给出")
]

NEEDS_LOOK = (State.FAILED.value, State.UNCONFIRMED.value)
WAITING = (State.SCHEDULED.value, State.QUEUED.value)
OVERDUE_AFTER = timedelta(minutes=1)  # the scheduler claims due rows twice a second


def attention(now: datetime) -> ColumnElement[bool]:
    """Overdue (still waiting after its time), failed or unconfirmed: shown first."""
    return or_(
        Publication.state.in_(NEEDS_LOOK),
        and_(Publication.state.in_(WAITING), Publication.scheduled_at < now - OVERDUE_AFTER),
    )


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class Filters:
    """The board's conditions: `where` for counting, `walk` for reading a page in order."""

    where: list[ColumnElement[bool]]
    walk: list[ColumnElement[bool]]


def _check_states(states: list[str]) -> None:
    for name in states:
        if name not in State.__members__.values():
            known = "、".join(f"{st.value}（{st.label}）" for st in State)
            raise InvalidInput(f"未知发布状态“{name}”。可用：{known}", code="unknown_state")


def board_filters(
    session: Session,
    *,
    states: list[str],
    channels: list[str],
    department: str | None = None,
    submission: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Filters:
    _check_states(states)
    for name in channels:
        check_channel(name)
    if date_from and date_to and date_from > date_to:
        raise InvalidInput("起始日期晚于截止日期", code="bad_date_range")
    found: list[ColumnElement[bool]] = []
    if states:
        found.append(Publication.state.in_(states))
    if channels:
        found.append(Publication.channel.in_(channels))
    if submission is not None:
        found.append(Publication.submission_id == submission)
    if date_from:
        found.append(Publication.scheduled_at >= day_start(date_from))
    if date_to:
        found.append(Publication.scheduled_at < day_start(date_to + timedelta(days=1)))
    walk = list(found)
    if department:
        of_department = select(Submission.id).where(
            Submission.department_id == check_department(session, department).id
        )
        found.append(Publication.submission_id.in_(of_department))
        # "+ 0" keeps SQLite from listing the department's rows by submission and sorting
        # them all: it walks the rows in time order instead and stops after one page.
        walk.append((Publication.submission_id + 0).in_(of_department))
    return Filters(found, walk)


def publication_item(
    pub: Publication, number: int, title: str, department: str, now: datetime
) -> dict[str, Any]:
    waiting_late = pub.state in WAITING and pub.scheduled_at < now - OVERDUE_AFTER
    return {
        "id": pub.id,
        "submission": pub.submission_id,
        "version": number,
        "title": title,
        "department": department,
        "channel": pub.channel,
        "channel_label": channel_label(pub.channel),
        "state": pub.state,
        "state_label": State(pub.state).label,
        "attention": pub.state in NEEDS_LOOK or waiting_late,
        "scheduled_at": pub.scheduled_at,
        "scheduled_at_local": local(pub.scheduled_at),
        "late": pub.late,
        "attempts": pub.attempts,
        "external_id": pub.external_id,
        "url": pub.url,
        "last_error": pub.last_error,
        "note": pub.note,
        "published_at": pub.published_at,
        "published_at_local": local_or_none(pub.published_at),
    }


def board_ids(
    session: Session, filters: Filters, flagged: int, total: int, offset: int, limit: int
) -> list[int]:
    """Attention rows first, then the rest, each by time: two queries that an index on the
    time can serve in order, instead of sorting every matching row by a computed key."""
    first = attention(utc_now())
    ordered = (Publication.scheduled_at, Publication.id)
    ids: list[int] = []
    if offset < flagged:
        ids = list(
            session.scalars(
                select(Publication.id)
                .where(*filters.walk, first)
                .order_by(*ordered)
                .limit(limit)
                .offset(offset)
            )
        )
    if len(ids) < limit and offset + len(ids) < total:
        ids += session.scalars(
            select(Publication.id)
            .where(*filters.walk, ~first)
            .order_by(*ordered)
            .limit(limit - len(ids))
            .offset(max(0, offset - flagged))
        )
    return ids


def board_page(session: Session, filters: Filters, page: int, per_page: int) -> PublicationPage:
    """One count of all and of the attention rows, one page of ids, then their details."""
    now = utc_now()
    total, flagged = session.execute(
        select(func.count(Publication.id), func.count(Publication.id).filter(attention(now))).where(
            *filters.where
        )
    ).one()
    ids = board_ids(session, filters, flagged or 0, total or 0, (page - 1) * per_page, per_page)
    rows = session.execute(
        select(Publication, Version.number, Version.title, Department.code)
        .join(Version, Version.id == Publication.version_id)
        .join(Submission, Submission.id == Publication.submission_id)
        .join(Department, Department.id == Submission.department_id)
        .where(Publication.id.in_(ids))
    ).all()
    by_id = {row[0].id: row for row in rows}
    items = [PublicationItem(**publication_item(*by_id[i], now)) for i in ids if i in by_id]
    return PublicationPage(page=page, per_page=per_page, total=total, items=items)
