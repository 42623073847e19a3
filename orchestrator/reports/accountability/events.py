"""The publication's audit events in words, and who published it: the person who published it
on the platform by hand, else the last person who triggered or scheduled the sending by hand,
else the system, on the schedule fixed at sign-off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.documents.form import local
from orchestrator.models import AuditEvent, Publication

# Hand actions that decide when (or whether again) a publication is sent.
TRIGGERS = {
    "publication.reschedule": "当天内调整发布时间",
    "publication.amend_date": "宣传分管领导签署改期",
    "publication.amendment": "改期签名",
    "publication.retry": "重新发送",
    "publication.schedule": "安排发布",
    "publication.publish_now": "立即发布",
}
EVENT_LABELS = TRIGGERS | {
    "publication.create": "签发后按审批表排期",
    "publication.sent": "发送至平台",
    "publication.settled": "核对发送结果",
    "publication.published": "平台确认已发布",
    "publication.confirm_by_hand": "人工确认已发布",
    "publication.failed": "发送失败",
    "publication.refused": "发送前拒绝",
    "publication.unconfirmed": "结果未确认",
    "publication.cancel": "取消发布",
    "publication.retract": "撤稿",
    "publication.retracted": "平台已删除",
    "publication.pause": "渠道暂停，推迟发送",
    "publication.retry_later": "稍后自动重试",
    "publication.attest": "升级时登入审计链",
    "publication.manual": "通过闸门复核，待人工发布",
    "publication.published_by_hand": "人工发布并签名登记链接",
    "publication.verify": "发布核验",
    "publication.takedown": "撤稿：待人工撤下",
    "publication.taken_down": "核验页面已删除，撤稿完成",
}
SYSTEM = "system"


@dataclass(frozen=True)
class Names:
    by_username: dict[str, str]

    def __call__(self, username: str) -> str:
        if not username or username == SYSTEM:
            return "系统"
        return self.by_username.get(username, username)


def event_row(event: AuditEvent, names: Names) -> dict[str, Any]:
    """One audit event of the publication: when, by whom, what (in words), its chain hash."""
    return {
        "id": event.id,
        "at": local(event.at),
        "actor": event.actor or SYSTEM,
        "actor_name": names(event.actor),
        "action": event.action,
        "label": EVENT_LABELS.get(event.action, event.action),
        "hash": event.hash,
    }


def publisher(
    pub: Publication,
    events: list[AuditEvent],
    sign_off: dict[str, Any] | None,
    names: Names,
) -> dict[str, Any]:
    sent = [e.id for e in events if e.action in ("publication.sent", "publication.published")]
    before = sent[-1] if sent else None
    hand = [
        e
        for e in events
        if e.action in TRIGGERS
        and e.actor not in ("", SYSTEM)
        and (before is None or e.id < before)
    ]
    confirmed = [e for e in events if e.action == "publication.confirm_by_hand"]
    out: dict[str, Any] = {
        "confirmed_by": [
            {"username": e.actor, "name": names(e.actor), "at": local(e.at)} for e in confirmed
        ]
    }
    by_hand = [e for e in events if e.action == "publication.published_by_hand"]
    if by_hand:  # an assisted channel: the person who published it on the platform
        return out | _by_person(by_hand[-1], names, "在平台上人工发布，并签名登记文章链接")
    if hand:
        last = hand[-1]
        return out | _by_person(last, names, f"{TRIGGERS[last.action]}，系统按其安排发出")
    signer = f"{sign_off['name']}（{sign_off['username']}）" if sign_off else "签发人"
    return out | {
        "kind": SYSTEM,
        "username": SYSTEM,
        "name": "系统",
        "action": "publication.create",
        "at": local(pub.scheduled_at),
        "text": f"无人手动操作：系统按签发时确定的排期（{local(pub.scheduled_at)}）自动发布，"
        f"排期随{signer}的签发生效",
    }


def _by_person(event: AuditEvent, names: Names, what: str) -> dict[str, Any]:
    """A person published it: who, by which event, when, and `what` they did in words."""
    return {
        "kind": "person",
        "username": event.actor,
        "name": names(event.actor),
        "action": event.action,
        "at": local(event.at),
        "text": f"{names(event.actor)}（{event.actor}）于 {local(event.at)} {what}",
    }
