"""排期日历: the week and month of publishing, by channel; moves, 改期 requests, the .ics feed.

GET  /calendar                      week (default, this week) or month (?view=month), ?date=,
                                    ?channel=; the grid re-polled like the board
GET  /calendar/grid                 the grid alone (console.js polls it)
POST /calendar/publications/{id}/move      a new time on the signed day: moved at once; another
                                    day: a 改期 request to the 宣传分管领导 (services/daterequests)
POST /calendar/publications/{id}/cancel    取消 (reason required)
POST /calendar/requests/{id}/sign|refuse|withdraw   the leader signs (password) or refuses;
                                    whoever schedules the row withdraws
POST /calendar/feeds, /calendar/feeds/{id}/revoke   a person's .ics subscription address
GET  /calendar/feed/{token}.ics     the feed itself (no session: the token is the key)

Every move goes through the services the API and CLI use, so a move the gate or the
permissions refuse is refused here with the same reason. A request sent with
`Accept: application/json` (the drag in calendar.js) gets JSON back instead of a redirect.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gate.model import ReviewStage
from gate.rules import role_problem
from orchestrator import workdays
from orchestrator.errors import InvalidInput, NotFound, SanshenError
from orchestrator.models import Person, Publication
from orchestrator.permissions import PERMISSIONS, holds
from orchestrator.services import amendments, calendar, calendar_feed, daterequests, org
from orchestrator.services.review import gate_person
from orchestrator.web import auth
from orchestrator.web.deps import RowId, get_app, principal
from orchestrator.web.templating import channel_label, channel_names, flash, fragment, local, page

router = APIRouter(include_in_schema=False)
Who = Annotated[auth.Principal, Depends(principal)]
WEEKDAYS = "一二三四五六日"
MONTH_BLOCKS = 3  # a month's day shows its first blocks; the rest are counted


# --- reading -----------------------------------------------------------------------------------


def _anchor(text: str | None) -> date:
    if not text:
        return calendar.shanghai_today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"日期“{text}”无效，应为 YYYY-MM-DD", code="bad_date") from None


def _kinds() -> dict[str, Any]:
    from orchestrator.web.deps import publisher

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
    anchor = _anchor(q.get("date"))
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
        person = org.person_by_username(session, who.username)
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


# --- moving ------------------------------------------------------------------------------------


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _to_calendar(back: str) -> RedirectResponse:
    """Back to the calendar view the form was on (`back`: its query)."""
    target = "/calendar" + (f"?{back}" if back and not back.startswith("/") else "")
    return RedirectResponse(target, status_code=303)


def _answer(request: Request, back: str, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"message": message})
    return flash(_to_calendar(back), message)


def _refused(request: Request, back: str, refusal: SanshenError) -> Response:
    """For the drag (JSON): the API's own error answer (422, 403, 404, 409 …); for a form: the
    reason on the calendar."""
    if _wants_json(request):
        raise refusal
    return flash(_to_calendar(back), refusal.message, "error")


def _day_and_time(day: str, at: str) -> tuple[date, time | None]:
    try:
        return date.fromisoformat(day), (time.fromisoformat(at) if at else None)
    except ValueError:
        raise InvalidInput(
            "请填写有效的日期（YYYY-MM-DD）和时间（HH:MM）", code="bad_date"
        ) from None


def move(
    session: Session,
    pub_id: int,
    *,
    day: date,
    at: time | None,
    actor: str,
    comment: str = "",
    over_ok: bool = False,
    now: datetime | None = None,
) -> str:
    """Move a row to `day` (at `at`): on its signed day at once, else a 改期 request. Warns
    (refuses unless `over_ok`) when the day would go over the channel's daily number."""
    from orchestrator.web.deps import publisher

    app = get_app()
    now = now or datetime.now(UTC)
    pub = session.get(Publication, pub_id)
    if pub is None:
        raise NotFound(f"发布 {pub_id} 不存在", code="unknown_publication")
    zone = app.policy.zone
    current = pub.scheduled_at.astimezone(zone)
    limit = app.settings.channel_daily_limits.get(pub.channel)
    if limit is not None and day != current.date() and not over_ok:
        there = office_view(session, day, day + timedelta(days=1), channel=pub.channel)
        already = there.load[(pub.channel, day)]
        if already + 1 > limit:
            raise InvalidInput(
                f"{channel_label(pub.channel)} {day.isoformat()} 已排 {already} 条，"
                f"每天最多 {limit} 条；确需移动请勾选“超出也移动”",
                code="over_daily_limit",
            )
    signed, _ = amendments.signed_day(session, pub)
    if day == signed:
        clock = at or current.time().replace(tzinfo=None)
        when = datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
        session.rollback()  # the reschedule has its own transaction
        publisher().reschedule(pub_id, when=when, actor=actor)
        return f"已改到 {local(when)}"
    kind = publisher().hub.classes[pub.channel].kind
    req = daterequests.request_change(
        session,
        pub_id,
        new_date=day,
        at_time=at,
        actor=actor,
        kind=kind,
        policy=app.policy,
        comment=comment,
        now=now,
    )
    return (
        f"已申请改期至 {req.new_date.isoformat()}（原定 {req.old_date.isoformat()}），"
        "待宣传分管领导签署后生效"
    )


@router.post("/calendar/publications/{pub_id}/move")
def move_action(
    request: Request,
    pub_id: RowId,
    who: Who,
    day: Annotated[str, Form()] = "",
    at: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    over_ok: Annotated[bool, Form()] = False,
    back: Annotated[str, Form()] = "",
) -> Response:
    try:
        new_day, clock = _day_and_time(day, at)
        with get_app().db.session() as session:
            done = move(
                session,
                pub_id,
                day=new_day,
                at=clock,
                actor=who.username,
                comment=comment,
                over_ok=over_ok,
            )
    except SanshenError as refusal:
        return _refused(request, back, refusal)
    return _answer(request, back, done)


@router.post("/calendar/publications/{pub_id}/cancel")
def cancel_action(
    request: Request,
    pub_id: RowId,
    who: Who,
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    from orchestrator.web.deps import publisher

    try:
        if not reason.strip():
            raise InvalidInput("取消发布须说明原因", code="reason_required")
        publisher().cancel(pub_id, reason=reason.strip(), actor=who.username)
    except SanshenError as refusal:
        return _refused(request, back, refusal)
    return _answer(request, back, "已取消发布")


@router.post("/calendar/requests/{request_id}/{decision}")
def request_action(
    request: Request,
    request_id: RowId,
    decision: str,
    who: Who,
    password: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    from orchestrator.web.deps import publisher

    app = get_app()
    try:
        with app.db.session() as session:
            if decision == "sign":
                done = daterequests.sign(
                    session, request_id, actor=who.username, password=password, policy=app.policy
                )
                message = f"已签署改期，改至 {local(done.scheduled_at)}"
            elif decision == "refuse":
                daterequests.refuse(
                    session, request_id, actor=who.username, policy=app.policy, note=note
                )
                message = "已不同意改期，仍按原日期发布"
            elif decision == "withdraw":
                req = daterequests.get(session, request_id)
                kind = publisher().hub.classes[req.publication.channel].kind
                daterequests.withdraw(session, request_id, actor=who.username, kind=kind)
                message = "已撤回改期申请"
            else:
                raise InvalidInput(f"没有操作“{decision}”", code="unknown_action")
    except SanshenError as refusal:
        return _refused(request, back, refusal)
    return _answer(request, back, message)


# --- the .ics subscription ----------------------------------------------------------------------


@router.post("/calendar/feeds")
def feed_create(who: Who) -> Response:
    with get_app().db.session() as session:
        token = calendar_feed.create(session, org.person_by_username(session, who.username))
    response = RedirectResponse(f"/calendar?feed_created={token}#feeds", status_code=303)
    return flash(response, "已生成日历订阅地址：请复制到日历软件中，它只显示这一次")


@router.post("/calendar/feeds/{feed_id}/revoke")
def feed_revoke(feed_id: RowId, who: Who) -> Response:
    try:
        with get_app().db.session() as session:
            calendar_feed.revoke(session, org.person_by_username(session, who.username), feed_id)
    except SanshenError as refusal:
        return flash(RedirectResponse("/calendar#feeds", status_code=303), refusal.message, "error")
    return flash(RedirectResponse("/calendar#feeds", status_code=303), "已停用该订阅地址")


@router.get("/calendar/feed/{token}.ics")
def feed(
    request: Request,
    token: str,
    date_from: Annotated[str | None, Query(alias="from")] = None,
    date_to: Annotated[str | None, Query(alias="to")] = None,
) -> Response:
    """The feed: 7 days back to 31 ahead, or the days [from, to] (at most 62)."""
    app = get_app()
    now = datetime.now(UTC)
    since, until = calendar_feed.span(now)
    try:
        start = _anchor(date_from) if date_from else since.astimezone(calendar.SHANGHAI).date()
        end = (
            _anchor(date_to) + timedelta(days=1)
            if date_to
            else until.astimezone(calendar.SHANGHAI).date()
        )
        with app.db.session() as session:
            calendar_feed.person_for(session, token, now=now)
            cal = office_view(session, start, end, now=now)
            base = app.settings.public_url or str(request.base_url)
            body = calendar_feed.ics(cal, base_url=base, stamp=now)
    except SanshenError as refusal:
        status = 404 if refusal.code == "unknown_feed" else 422
        return JSONResponse(refusal.as_dict(), status_code=status)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )
