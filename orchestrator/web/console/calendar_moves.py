"""排期日历's moves: a row dragged or moved to another time, cancelled, and the 改期 requests.

POST /calendar/publications/{id}/move      a new time on the signed day: moved at once; another
                                    day: a 改期 request to the 宣传分管领导 (services/daterequests)
POST /calendar/publications/{id}/cancel    取消 (reason required)
POST /calendar/requests/{id}/sign|refuse|withdraw   the leader signs (password) or refuses;
                                    whoever schedules the row withdraws

Every move goes through the services the API and CLI use, so a move the gate or the
permissions refuse is refused here with the same reason. A request sent with
`Accept: application/json` (the drag in calendar.js) gets JSON back instead of a redirect.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from orchestrator.errors import InvalidInput, NotFound, SanshenError
from orchestrator.models import Publication
from orchestrator.services import amendments, daterequests
from orchestrator.web.console.calendar_view import office_view
from orchestrator.web.console.common import FormFlag, FormText, Who
from orchestrator.web.deps import RowId, get_app, publisher
from orchestrator.web.templating import channel_label, flash, local

router = APIRouter(include_in_schema=False)


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
    day: FormText = "",
    at: FormText = "",
    comment: FormText = "",
    over_ok: FormFlag = False,
    back: FormText = "",
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
    reason: FormText = "",
    back: FormText = "",
) -> Response:
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
    password: FormText = "",
    note: FormText = "",
    back: FormText = "",
) -> Response:
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
