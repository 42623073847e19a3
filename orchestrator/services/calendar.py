"""排期日历: what goes out when, on which channel, and what is still coming through review.

One `view` builds what the page, the API and the .ics feed show for a span of Shanghai days:
- a block per publication row at its scheduled time (its state, title, department, 转载 mark,
  and a pending 改期 request if one waits for the 宣传分管领导);
- a dashed "planned" block per 审批表 row of an item still in review, on the row's date;
- the days' holidays and 调休 working days (the calendar the stage deadlines count with);
- each channel's load per day against its configured daily number (`channel_daily_limits`).

Three queries whatever the span (rows, planned rows, pending requests); the month of 3,000 rows
among 100,000 is measured by bench/console.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from gate.model import Decision
from orchestrator import workdays
from orchestrator.errors import InvalidInput
from orchestrator.models import (
    ChannelRequestRow,
    DateChangeRequest,
    Department,
    Person,
    Publication,
    ReviewAction,
    Submission,
    Version,
)
from orchestrator.services import amendments
from orchestrator.services.calendar_model import PLANNED as PLANNED
from orchestrator.services.calendar_model import Block as Block
from orchestrator.services.calendar_model import Calendar as Calendar
from orchestrator.services.calendar_model import Day as Day
from orchestrator.services.calendar_model import Lane as Lane
from orchestrator.services.calendar_model import Pending as Pending
from orchestrator.services.daterequests import PENDING
from orchestrator.states import State

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 62  # a month view's six weeks, with room; the API refuses longer spans
HIDDEN = (State.CANCELLED.value,)  # not going out: off the calendar
SHOWN = tuple(s.value for s in State if s.value not in HIDDEN)


def week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=7)


def month_grid(day: date) -> tuple[date, date]:
    """The whole weeks (Monday first) that hold `day`'s month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    start = first - timedelta(days=first.weekday())
    end = following + timedelta(days=(7 - following.weekday()) % 7)
    return start, end


def shanghai_today(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(SHANGHAI).date()


def view(
    session: Session,
    start: date,
    end: date,
    *,
    channels: dict[str, str],
    limits: dict[str, int],
    channel: str | None = None,
    max_days: int = MAX_DAYS,
    per_day: int | None = None,
    now: datetime | None = None,
) -> Calendar:
    """The calendar of the Shanghai days [start, end): `channels` names the lanes (name →
    display name, in order), `limits` the daily numbers; with `per_day`, only each day's first
    rows carry their blocks (the month view), the rest are counted in `load` and `hidden`."""
    if start.year < 1970 or end.year > 2200:
        raise InvalidInput("日期超出可查看的范围（1970–2200 年）", code="bad_range")
    if end <= start:
        raise InvalidInput("结束日期必须晚于开始日期", code="bad_range")
    if (end - start).days > max_days:
        raise InvalidInput(f"一次最多查看 {max_days} 天", code="range_too_long")
    if channel is not None and channel not in channels:
        raise InvalidInput(f"没有渠道“{channel}”", code="unknown_channel")
    today = shanghai_today(now)
    days = []
    for n in range((end - start).days):
        d = start + timedelta(days=n)
        days.append(Day(d, workdays.day_note(d), workdays.is_working_day(d), d == today))
    names = [channel] if channel else list(channels)
    lanes = [Lane(c, channels[c], limits.get(c)) for c in names]
    # What each row is, and how many there are a day, from the index alone; the details
    # (title, department, a pending 改期) only for the rows shown (all, or `per_day` a day).
    rows = _rows(session, start, end, names)
    load = Counter((c, d) for _, c, state, _, d in rows if state != State.RETRACTED.value)
    shown, hidden = _first(rows, per_day)
    planned = _planned(session, start, end, names)
    load.update((b.channel, b.day) for b in planned)
    blocks = _detailed(session, shown) + planned
    # by day and time; a day's planned blocks (no time yet) after its scheduled rows
    blocks.sort(
        key=lambda b: (b.day, b.at is None, b.at or datetime.min.replace(tzinfo=UTC), b.key)
    )
    return Calendar(start, end, days, lanes, blocks, load, hidden)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    def moment(d: date) -> datetime:
        return datetime.combine(d, time(0), SHANGHAI).astimezone(UTC)

    return moment(start), moment(end)


Row = tuple[int, str, str, datetime, date]  # id, channel, state, scheduled_at, Shanghai day


def _rows(session: Session, start: date, end: date, names: list[str]) -> list[Row]:
    since, until = _bounds(start, end)
    found = session.execute(
        select(
            Publication.id, Publication.channel, Publication.state, Publication.scheduled_at
        ).where(
            Publication.scheduled_at >= since,
            Publication.scheduled_at < until,
            # positive lists, so the board index (channel, state, scheduled_at) seeks each
            # (channel, state) pair's time range instead of reading every row of a channel
            Publication.state.in_(SHOWN),
            Publication.channel.in_(names),
        )
    ).all()
    return [(i, c, state, at, at.astimezone(SHANGHAI).date()) for i, c, state, at in found]


def _first(rows: list[Row], per_day: int | None) -> tuple[list[Row], Counter[date]]:
    """The rows to show (each day's first `per_day` by time; all when None), and how many
    more each day has."""
    if per_day is None:
        return rows, Counter()
    by_day: dict[date, list[Row]] = {}
    for row in sorted(rows, key=lambda r: (r[3], r[0])):
        by_day.setdefault(row[4], []).append(row)
    shown = [r for day_rows in by_day.values() for r in day_rows[:per_day]]
    hidden = Counter({d: len(r) - per_day for d, r in by_day.items() if len(r) > per_day})
    return shown, hidden


# What a block says of its item (read with its publication row or its 审批表 row): see _item.
ITEM_COLUMNS = (Version.title, Department.name, Submission.repost_of_id, Version.repost_platform)


def _item(columns: Sequence[Any]) -> dict[str, Any]:
    """A block's title, department and 转载 mark (a repost, or a version citing a source), from
    the values of ITEM_COLUMNS."""
    title, department, repost_of, repost_platform = columns
    return {
        "title": title,
        "department": department,
        "repost": bool(repost_of or repost_platform),
    }


def _detailed(session: Session, rows: list[Row]) -> list[Block]:
    details: dict[int, list[Any]] = {}
    ids = [r[0] for r in rows]
    for chunk in (ids[i : i + 900] for i in range(0, len(ids), 900)):  # SQLite's bound limit
        details.update(
            (pub_id, rest)
            for pub_id, *rest in session.execute(
                select(Publication.id, Publication.submission_id, *ITEM_COLUMNS)
                .join(Version, Version.id == Publication.version_id)
                .join(Submission, Submission.id == Publication.submission_id)
                .join(Department, Department.id == Submission.department_id)
                .where(Publication.id.in_(chunk))
            )
        )
    pending = _pending(session, [r[0] for r in rows if r[2] in amendments.WAITING])
    blocks = []
    for pub_id, channel, state, at, day in rows:
        sub_id, *item = details[pub_id]
        blocks.append(
            Block(
                day=day,
                at=at,
                channel=channel,
                state=state,
                submission_id=sub_id,
                **_item(item),
                publication_id=pub_id,
                request=pending.get(pub_id),
            )
        )
    return blocks


def _pending(session: Session, pub_ids: list[int]) -> dict[int, Pending]:
    if not pub_ids:
        return {}
    rows = session.execute(
        select(
            DateChangeRequest.publication_id,
            DateChangeRequest.id,
            DateChangeRequest.new_date,
            DateChangeRequest.at_time,
            Person.name,
            DateChangeRequest.comment,
        )
        .join(Person, Person.id == DateChangeRequest.requested_by_id)
        .where(DateChangeRequest.state == PENDING, DateChangeRequest.publication_id.in_(pub_ids))
    )
    return {row[0]: Pending(*row[1:]) for row in rows}


def _planned(session: Session, start: date, end: date, names: list[str]) -> list[Block]:
    """The 审批表 rows of items still in review: the current version, not yet let go (no
    publication rows), not 驳回."""
    newer = aliased(Version)
    found = session.execute(
        select(
            ChannelRequestRow.channel,
            ChannelRequestRow.publish_date,
            Version.submission_id,
            *ITEM_COLUMNS,
        )
        .join(Version, Version.id == ChannelRequestRow.version_id)
        .join(Submission, Submission.id == Version.submission_id)
        .join(Department, Department.id == Submission.department_id)
        .where(
            ChannelRequestRow.publish_date >= start,
            ChannelRequestRow.publish_date < end,
            ChannelRequestRow.channel.in_(names),
            ~exists().where(
                and_(newer.submission_id == Version.submission_id, newer.id > Version.id)
            ),
            ~exists().where(Publication.version_id == Version.id),
            ~exists().where(
                and_(
                    ReviewAction.version_id == Version.id,
                    ReviewAction.decision == Decision.REJECT.value,
                )
            ),
        )
    ).all()
    return [
        Block(day=day, at=None, channel=channel, state=PLANNED, submission_id=sub_id, **_item(item))
        for channel, day, sub_id, *item in found
    ]


def legend() -> list[tuple[str, str]]:
    """The states a block can show, as (css state, label), planned first."""
    shown = [s for s in State if s.value not in HIDDEN]
    return [(PLANNED, "审核中（计划）"), *((s.value, s.label) for s in shown)]
