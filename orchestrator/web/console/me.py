"""A person's own page: how they are told when something waits for them, and what was sent.

GET  /me/notify   the settings (企业微信 userid, e-mail, which of them, daily digest) and the
                  latest messages with their delivery state
POST /me/notify   save them (services/org.set_notify: every problem named, nothing half-saved)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from orchestrator.errors import InvalidInput
from orchestrator.permissions import person_by_username
from orchestrator.services import notifications, org
from orchestrator.web.auth import Principal
from orchestrator.web.console.common import FormText, Who
from orchestrator.web.deps import get_app
from orchestrator.web.templating import flash, page

router = APIRouter(include_in_schema=False)
STATE_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "未送达", "digest": "待每日汇总"}


def _context(who: Principal) -> dict[str, Any]:
    app = get_app()
    with app.db.read() as session:
        person = person_by_username(session, who.username)
        routes = notifications.routes_from(app.settings)
        return {
            "person": person,
            "chosen": set(person.notify_via.split(",")),
            "routes": org.NOTIFY_ROUTES,
            "configured": set(routes),
            "messages": notifications.for_person(session, person, limit=30),
            "state_labels": STATE_LABELS,
            "kind_labels": notifications.KIND_LABELS,
            "digest_at": app.settings.notify_digest_at,
        }


@router.get("/me/notify", response_class=HTMLResponse)
async def notify_page(request: Request, who: Who) -> Response:
    context = await run_in_threadpool(_context, who)
    return page(request, "me_notify.html", who, **context)


@router.post("/me/notify")
async def notify_save(
    request: Request,
    who: Who,
    wecom_userid: FormText = "",
    email: FormText = "",
    via: Annotated[list[str] | None, Form()] = None,
    digest: FormText = "",
) -> Response:
    def work() -> None:
        with get_app().db.session() as session:
            org.set_notify(
                session,
                who.username,
                actor=who.username,
                wecom_userid=wecom_userid.strip(),
                email=email.strip(),
                via=via or [],
                digest=bool(digest),
            )

    try:
        await run_in_threadpool(work)
    except InvalidInput as error:
        context = await run_in_threadpool(_context, who)
        typed = {"wecom_userid": wecom_userid, "email": email}
        return page(
            request, "me_notify.html", who, 422, error=error.message, typed=typed, **context
        )
    return flash(RedirectResponse("/me/notify", status_code=303), "通知设置已保存")
