"""Rendering console pages: one Jinja2 environment, the signed-in person on every page, flashes.

    page(request, "board.html", principal, rows=...)   a full page extending base.html
    fragment(request, "board_rows.html", rows=...)     a piece swapped in by console.js
    flash(response, "已重发")                           a one-time message shown on the next page

Every page gets `me` (username, name, role labels, department), `csrf_token` for its forms and
`flash` (the message left by the previous action, if any). Filters: `local` (UTC → Shanghai
'YYYY-MM-DD HH:MM', or another strftime format), `state_label`, `channel_label`, `stage_label`,
`decision_label`, `operation_label`, `outcome_label`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gate.model import Decision, ReviewStage, Role
from orchestrator.models import Person
from orchestrator.services.submissions import channel_catalogue
from orchestrator.services.verification import TRIGGER_LABELS
from orchestrator.states import State
from orchestrator.web.auth import Principal
from orchestrator.web.deps import get_app

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
SHANGHAI = ZoneInfo("Asia/Shanghai")
FLASH_COOKIE = "sanshen_flash"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC time as people in the office read it (Asia/Shanghai); '' for none."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).strftime(fmt)


def state_label(value: str | None) -> str:
    try:
        return State(value or "").label
    except ValueError:
        return value or ""


@cache
def channel_names() -> dict[str, str]:
    """Registered channels: name → 发布形式 (政府网站, 微信公众号, …), in registry order."""
    return channel_catalogue()


def channel_label(value: str | None) -> str:
    return channel_names().get(value or "", value or "")


OPERATION_LABELS = {
    "publish": "发布",
    "status": "查询结果",
    "find": "按幂等键查找",
    "retract": "撤稿",
}
OUTCOME_LABELS = {
    "ok": "成功",
    "retryable": "可重试的错误",
    "permanent": "不可重试的错误",
    "unknown": "结果未知",
    "refused": "发送前被拒",
}


VERDICT_LABELS = {
    "consistent": "核验一致",
    "mismatch": "核验不一致",
    "unreachable": "无法访问",
    "removed": "页面已删除",
}


def duration(value: timedelta) -> str:
    """A wait for people: 35 分钟, 5 小时, 2 天 3 小时."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} 小时"
    return f"{hours // 24} 天" + (f" {hours % 24} 小时" if hours % 24 else "")


def _label(table: Mapping[str, str]) -> Callable[[str | None], str]:
    return lambda value: table.get(value or "", value or "")


templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
templates.env.filters.update(
    local=local,
    duration=duration,
    state_label=state_label,
    channel_label=channel_label,
    stage_label=_label({s.value: s.label for s in ReviewStage}),
    decision_label=_label({d.value: d.label for d in Decision}),
    operation_label=_label(OPERATION_LABELS),
    outcome_label=_label(OUTCOME_LABELS),
    verdict_label=_label(VERDICT_LABELS),
    trigger_label=_label(TRIGGER_LABELS),
)


@dataclass(frozen=True)
class Me:
    username: str
    name: str
    roles: tuple[str, ...]  # role values held now, e.g. "web_operations"
    role_labels: tuple[str, ...]
    department: str  # the department's name, '' for none

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


def load_me(principal: Principal, now: datetime | None = None) -> Me:
    now = now or datetime.now(UTC)
    with get_app().db.read() as session:
        person = session.scalar(
            select(Person)
            .where(Person.id == principal.person_id)
            .options(selectinload(Person.assignments), selectinload(Person.department))
        )
        if person is None:
            return Me(principal.username, principal.name, (), (), "")
        held = tuple(
            dict.fromkeys(
                a.role
                for a in person.assignments
                if a.valid_from <= now and (a.valid_until is None or now < a.valid_until)
            )
        )
        department = person.department.name if person.department else ""
    return Me(
        person.username,
        person.name,
        held,
        tuple(Role(r).label for r in held),
        department,
    )


def take_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    return {"text": data["text"], "kind": str(data.get("kind", "ok"))}


def flash(response: Response, text: str, kind: str = "ok") -> Response:
    """Leave a message for the next page; kind is "ok" or "error"."""
    value = quote(json.dumps({"text": text, "kind": kind}, ensure_ascii=False))
    response.set_cookie(FLASH_COOKIE, value, max_age=60, httponly=True, samesite="lax")
    return response


def page(
    request: Request,
    name: str,
    principal: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A full page for the signed-in person."""
    message = take_flash(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "me": context.pop("me", None) or load_me(principal),
            "csrf_token": principal.csrf_token or "",
            "flash": message,
            **context,
        },
        status_code=status_code,
    )
    if message is not None:
        response.delete_cookie(FLASH_COOKIE)
    return response


def fragment(request: Request, name: str, **context: Any) -> HTMLResponse:
    """A piece of a page (no layout), e.g. the board's rows polled by console.js."""
    return templates.TemplateResponse(request, name, context)
