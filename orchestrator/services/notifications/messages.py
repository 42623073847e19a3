"""What to tell whom: the messages for a stage that waits (and its reminder and escalation), an
item that came back, a failed publication, and a 改期 request waiting for a signature."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.model import ReviewStage
from gate.rules import ReviewContext, role_problem
from orchestrator.app import App
from orchestrator.models import Person, Publication, Submission
from orchestrator.services import daterequests, deadlines, review
from orchestrator.services.drafts import channel_catalogue
from orchestrator.states import State

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAILED_LOOKBACK = timedelta(days=7)
BATCH = 200
KIND_LABELS = {
    "stage": "待您办理",
    "returned": "稿件被退回",
    "failed": "发布失败",
    "reminder": "办理超时提醒",
    "escalation": "超时未办",
    "date_request": "改期待签",
}


@dataclass(frozen=True)
class Message:
    person: Person
    kind: str
    key: str
    title: str
    body: str
    link: str
    submission_id: int | None = None
    publication_id: int | None = None


def _local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def _item(sub: Submission) -> str:
    return f"稿件 {sub.id}《{sub.current.title}》"


def stage_messages(
    wait: deadlines.Wait, context: ReviewContext, everyone: Sequence[Person], now: datetime
) -> list[Message]:
    sub, stage = wait.submission, wait.stage
    base = f"{sub.id}:{sub.current.fingerprint[:16]}:{stage.value}"
    link = f"/submissions/{sub.id}/review"
    detail = (
        f"{sub.department.name} · {sub.author.name}提交 · 送达 {_local(wait.since)}"
        f" · 时限 {_local(wait.due)}{'（紧急）' if sub.urgent else ''}"
    )
    actors = [p for p in everyone if deadlines.may_act(sub, p, context, now)]
    found = [
        Message(
            p,
            "stage",
            f"stage:{base}:{p.id}",
            f"待您{stage.label}：{_item(sub)}",
            detail,
            link,
            sub.id,
        )
        for p in actors
        if p.id != sub.current.created_by_id  # who just handed it in knows it waits for them
    ]
    if wait.overdue(now):
        found += [
            Message(
                p,
                "reminder",
                f"reminder:{base}:{p.id}",
                f"请尽快{stage.label}（已超时限）：{_item(sub)}",
                detail,
                link,
                sub.id,
            )
            for p in actors
        ]
    if now >= wait.escalate_at:
        waited = wait.waited(now)
        hours = f"{waited.total_seconds() / 3600:.0f} 小时"
        found += [
            Message(
                p,
                "escalation",
                f"escalation:{base}:{p.id}",
                f"{stage.label}超时未办（已等 {hours}）：{_item(sub)}",
                detail + f" · 待办理人：{'、'.join(a.name for a in actors) or '无'}",
                f"/items/{sub.id}",
                sub.id,
            )
            for p in deadlines.escalation_targets(wait, everyone, context, now)
        ]
    return found


def returned_message(back: deadlines.Returned) -> Message:
    sub = back.submission
    return Message(
        sub.author,
        "returned",
        f"returned:{back.action_id}",
        f"{back.stage}{back.decision}：{_item(sub)}",
        f"{back.actor} · {_local(back.acted_at)} · 意见：{back.comment or '无'}",
        f"/submissions/{sub.id}/revise",
        sub.id,
    )


def failed_messages(session: Session, now: datetime) -> list[Message]:
    rows = session.scalars(
        select(Publication)
        .where(
            Publication.state == State.FAILED.value,
            Publication.state_changed_at >= now - FAILED_LOOKBACK,
        )
        .order_by(Publication.id)
        .limit(BATCH)
    )
    found = []
    for pub in rows:
        sub = pub.submission
        found.append(
            Message(
                sub.author,
                "failed",
                f"failed:{pub.id}:{pub.revision}",
                f"{_channel(pub.channel)}发布失败：{_item(sub)}",
                pub.last_error or "",
                f"/items/{sub.id}#pub-{pub.id}",
                sub.id,
                pub.id,
            )
        )
    return found


def date_request_messages(
    session: Session, app: App, everyone: Sequence[Person], now: datetime
) -> list[Message]:
    """A 改期 request waits for the 宣传分管领导's signature: each of them is told once."""
    signers = [
        p
        for p in everyone
        if role_problem(review.gate_person(p), ReviewStage.SIGN_OFF, "", app.policy, now) is None
    ]
    found = []
    for req in daterequests.waiting_requests(session)[:BATCH]:
        pub, sub = req.publication, req.publication.submission
        why = f"：{req.comment}" if req.comment else ""
        found += [
            Message(
                p,
                "date_request",
                f"date_request:{req.id}:{p.id}",
                f"待您签署改期：{_item(sub)}",
                f"{_channel(pub.channel)} {req.old_date} → {req.new_date}"
                f" · {req.requested_by.name}申请{why}",
                f"/calendar?date={req.new_date.isoformat()}#requests",
                sub.id,
                pub.id,
            )
            for p in signers
        ]
    return found


def _channel(name: str) -> str:
    return channel_catalogue().get(name, name)
