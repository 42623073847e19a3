"""System health: the broker, workers, scheduler loops, queues and database at a glance, and
each channel's pause (暂停发送) with the buttons to pause or resume it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from channels.registry import load_channels
from orchestrator.errors import NotFound, SanshenError
from orchestrator.models import Person
from orchestrator.permissions import PERMISSIONS, holds, person_by_username
from orchestrator.services import health, pauses
from orchestrator.web.console.common import Who
from orchestrator.web.deps import get_app, publisher
from orchestrator.web.templating import flash, page

log = logging.getLogger("sanshen.console")
router = APIRouter(include_in_schema=False)

PART_LABELS = {
    "broker": "消息队列（Redis）",
    "workers": "发送进程（Celery worker）",
    "scheduler": "调度循环",
    "queues": "队列长度",
    "database": "数据库",
    "publications": "发布状态统计",
}
LOOP_LABELS = {
    "dispatch": "到期发布扫描",
    "reconcile": "核对（对账）",
    "alerts": "告警发送",
    "notify": "通知发送",
    "verify": "发布核验（巡检）",
}


def _health() -> dict[str, Any]:
    return health.snapshot(get_app())


def _pause_gate() -> Any:
    return publisher().gate  # the Redis every worker reads


def _channel_pauses(username: str) -> tuple[list[dict[str, Any]], dict[str, bool], str]:
    """Each channel's pause, whether this person may pause or resume it, and a problem."""
    classes = load_channels()
    now = datetime.now(UTC)
    with get_app().db.read() as session:
        person = person_by_username(session, username)
        may = {
            name: holds(person, PERMISSIONS[("pause", cls.kind)], now)
            for name, cls in classes.items()
        }
    try:
        rows = pauses.states(_pause_gate(), classes)
    except Exception as error:  # the page still shows the rest
        log.warning("channel pauses unreadable: %s", error)
        return [], may, f"消息队列不可用，无法读取渠道暂停状态：{error}"
    with get_app().db.read() as session:
        names = dict(
            session.execute(
                select(Person.username, Person.name).where(
                    Person.username.in_({row["by"] for row in rows})
                )
            ).all()
        )
    for row in rows:
        who_ = names.get(row["by"])
        row["by_label"] = "平台要求" if row["by"] == "platform" else (who_ or row["by"])
    return rows, may, ""


@router.get("/health", response_class=HTMLResponse)
def health_page(request: Request, who: Who) -> HTMLResponse:
    snap = _health()
    channel_rows, may_pause, pause_problem = _channel_pauses(who.username)
    return page(
        request,
        "health.html",
        who,
        snap=snap,
        parts=[
            (name, PART_LABELS.get(name, name), snap[name]) for name in PART_LABELS if name in snap
        ],
        loop_labels=LOOP_LABELS,
        parse_time=datetime.fromisoformat,
        channel_rows=channel_rows,
        may_pause=may_pause,
        pause_problem=pause_problem,
        pause_choices=PAUSE_CHOICES,
    )


PAUSE_CHOICES = ((30, "30 分钟"), (60, "1 小时"), (240, "4 小时"), (1440, "1 天"), (4320, "3 天"))


@router.post("/health/channels/{name}/{action}")
def channel_pause_action(
    name: str,
    action: str,
    who: Who,
    reason: Annotated[str, Form(max_length=500)] = "",
    minutes: Annotated[int, Form()] = 60,
) -> Response:
    back = RedirectResponse("/health#channels", status_code=303)
    classes = load_channels()
    label = classes[name].display_name if name in classes else name
    try:
        if action == "pause":
            pauses.pause(
                get_app(), _pause_gate(), classes, name,
                minutes=minutes, reason=reason, actor=who.username,
            )  # fmt: skip
            return flash(back, f"{label}：已暂停发送 {minutes} 分钟")
        if action == "resume":
            done = pauses.resume(get_app(), _pause_gate(), classes, name, actor=who.username)
            return flash(
                back, f"{label}：已恢复发送，{done['rows_due_now']} 条等待中的发布现在到期"
            )
        raise NotFound(f"没有操作“{action}”", code="unknown_action")
    except SanshenError as refusal:
        return flash(back, f"{label}：{refusal.message}", "error")
