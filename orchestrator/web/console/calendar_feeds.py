"""排期日历 as an .ics subscription: a person's feed addresses, and the feed itself.

POST /calendar/feeds, /calendar/feeds/{id}/revoke   a person's .ics subscription address
GET  /calendar/feed/{token}.ics     the feed itself (no session: the token is the key)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from orchestrator.errors import SanshenError
from orchestrator.permissions import person_by_username
from orchestrator.services import calendar, calendar_feed
from orchestrator.web.console.calendar_view import anchor_day, office_view
from orchestrator.web.console.common import Who
from orchestrator.web.deps import RowId, get_app
from orchestrator.web.templating import flash

router = APIRouter(include_in_schema=False)


@router.post("/calendar/feeds")
def feed_create(who: Who) -> Response:
    with get_app().db.session() as session:
        token = calendar_feed.create(session, person_by_username(session, who.username))
    response = RedirectResponse(f"/calendar?feed_created={token}#feeds", status_code=303)
    return flash(response, "已生成日历订阅地址：请复制到日历软件中，它只显示这一次")


@router.post("/calendar/feeds/{feed_id}/revoke")
def feed_revoke(feed_id: RowId, who: Who) -> Response:
    try:
        with get_app().db.session() as session:
            calendar_feed.revoke(session, person_by_username(session, who.username), feed_id)
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
        start = anchor_day(date_from) if date_from else since.astimezone(calendar.SHANGHAI).date()
        end = (
            anchor_day(date_to) + timedelta(days=1)
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
