"""排期日历: the week and month of publishing, by channel.

GET  /calendar          week (default, this week) or month (?view=month), ?date=, ?channel=;
                        the grid re-polled like the board
GET  /calendar/grid     the grid alone (console.js polls it)

The page also lists the 改期 requests waiting for a decision and the person's .ics feeds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from gate.model import ReviewStage
from gate.rules import role_problem
from orchestrator import workdays
from orchestrator.errors import InvalidInput
from orchestrator.models import Person
from orchestrator.permissions import PERMISSIONS, holds, person_by_username
from orchestrator.services import calendar, calendar_feed, daterequests
from orchestrator.services.review import gate_person
from orchestrator.web import auth
from orchestrator.web.console.common import Who
from orchestrator.web.deps import get_app, publisher
from orchestrator.web.templating import channel_label, channel_names, fragment, page

router = APIRouter(include_in_schema=False)
WEEKDAYS = "一二三四五六日"
MONTH_BLOCKS = 3  # a month's day shows its first blocks; the rest are counted


def anchor_day(text: str | None) -> date:
    if not text:
        return calendar.shanghai_today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"日期“{text}”无效，应为 YYYY-MM-DD", code="bad_date") from None


def _kinds() -> dict[str, Any]:
    return {name: cls.kind for name, cls in publisher().hub.classes.items()}


def may_schedule(person: Person, now: datetime) -> set[str]:
    """The channels whose rows `person` may move and cancel (the API's `schedule` permission)."""
    return {
        name
        for name, kind in _kinds().items()
        if holds(person, PERMISSIONS.get(("schedule", kind), frozenset()), now)
    }


def may_sign(person: Person, now: datetime) -> bool:
    policy = get_app().policy
    return role_problem(gate_person(person), ReviewStage.SIGN_OFF, "", policy, now) is None


def office_view(
    session: Session,
    start: date,
    end: date,
    *,
    channel: str | None = None,
    per_day: int | None = None,
    now: datetime | None = None,
) -> calendar.Calendar:
    """The calendar of [start, end) with the registered channels and the configured limits."""
    return calendar.view(
        session,
        start,
        end,
        channels=channel_names(),
        limits=get_app().settings.channel_daily_limits,
        channel=channel,
        per_day=per_day,
        now=now,
    )


def _query(mode: str, anchor: date, channel: str | None) -> str:
    params = {"view": mode, "date": anchor.isoformat()}
    if channel:
        params["channel"] = channel
    return urlencode(params)


def _title(mode: str, start: date, end: date, anchor: date) -> str:
    if mode == "month":
        return f"{anchor.year}年{anchor.month}月"
    last = end - timedelta(days=1)
    tail = f"{last.month}月{last.day}日" if last.month != start.month else f"{last.day}日"
    return f"{start.year}年{start.month}月{start.day}日–{tail}"


def _context(request: Request, who: auth.Principal) -> dict[str, Any]:
    q = request.query_params
    mode = "month" if q.get("view") == "month" else "week"
    anchor = anchor_day(q.get("date"))
    channel = q.get("channel") or None
    start, end = calendar.month_grid(anchor) if mode == "month" else calendar.week_of(anchor)
    step = timedelta(days=7)
    if mode == "month":
        before = anchor.replace(day=1) - timedelta(days=1)
        after = (anchor.replace(day=1) + timedelta(days=32)).replace(day=1)
    else:
        before, after = anchor - step, anchor + step
    app = get_app()
    now = datetime.now(UTC)
    with app.db.read() as session:
        shown = MONTH_BLOCKS if mode == "month" else None
        cal = office_view(session, start, end, channel=channel, per_day=shown, now=now)
        person = person_by_username(session, who.username)
        movable = may_schedule(person, now)
        signer = may_sign(person, now)
        requests = _requests(session) if (movable or signer) else []
        feeds = calendar_feed.of_person(session, person)
    return {
        "cal": cal,
        "mode": mode,
        "anchor": anchor,
        "channel": channel,
        "title": _title(mode, start, end, anchor),
        "query": _query(mode, anchor, channel),
        "prev_query": _query(mode, before, channel),
        "next_query": _query(mode, after, channel),
        "today_query": _query(mode, calendar.shanghai_today(now), channel),
        "other_query": _query("week" if mode == "month" else "month", anchor, channel),
        "week_query": lambda day: _query("week", day, channel),
        "movable": movable,
        "signer": signer,
        "requests": requests,
        "feeds": feeds,
        "weekdays": WEEKDAYS,
        "month": anchor.month,
        "month_blocks": MONTH_BLOCKS,
        "channels": channel_names(),
        "states": calendar.legend(),
        "unknown_years": sorted({d.date.year for d in cal.days if not workdays.known(d.date)}),
    }


def _requests(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "publication_id": r.publication_id,
            "submission_id": r.publication.submission_id,
            "title": r.publication.version.title,
            "channel": channel_label(r.publication.channel),
            "old_date": r.old_date,
            "new_date": r.new_date,
            "at_time": r.at_time,
            "by": r.requested_by.name,
            "at": r.requested_at,
            "comment": r.comment,
        }
        for r in daterequests.waiting_requests(session)
    ]


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, who: Who) -> HTMLResponse:
    new_feed = request.query_params.get("feed_created")
    return page(request, "calendar.html", who, **_context(request, who), new_feed=new_feed)


@router.get("/calendar/grid", response_class=HTMLResponse)
def calendar_grid(request: Request, who: Who) -> HTMLResponse:
    return fragment(request, "calendar_grid.html", **_context(request, who))
