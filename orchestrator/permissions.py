"""Who may do what to a publication (谁发布谁负责): one table, checked by the services."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import ChannelKind
from gate.model import Role
from orchestrator.errors import Forbidden, NotFound
from orchestrator.models import Department, Person


def person_by_username(session: Session, username: str) -> Person:
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        raise NotFound(f"人员“{username}”不存在", code="unknown_person")
    return person


R = Role
# (action, channel kind) -> roles allowed. 政府网站运行科 runs the own platforms, 综合科 the
# upward reports; operators may retry or settle what needs a person.
PERMISSIONS: Mapping[tuple[str, ChannelKind], frozenset[Role]] = MappingProxyType(
    {
        ("schedule", ChannelKind.OWN): frozenset({R.WEB_OPERATIONS}),
        ("schedule", ChannelKind.UPWARD): frozenset({R.GENERAL_OFFICE}),
        ("retract", ChannelKind.OWN): frozenset({R.WEB_OPERATIONS}),
        ("retract", ChannelKind.UPWARD): frozenset({R.GENERAL_OFFICE}),
        ("retry", ChannelKind.OWN): frozenset({R.WEB_OPERATIONS, R.OPERATOR}),
        ("retry", ChannelKind.UPWARD): frozenset({R.GENERAL_OFFICE, R.OPERATOR}),
        ("confirm", ChannelKind.OWN): frozenset({R.WEB_OPERATIONS, R.OPERATOR}),
        ("confirm", ChannelKind.UPWARD): frozenset({R.GENERAL_OFFICE, R.OPERATOR}),
        ("repost", ChannelKind.UPWARD): frozenset({R.GENERAL_OFFICE}),
        # upward first: 综合科 releases an own row held for an adoption, or drops it
        ("release", ChannelKind.OWN): frozenset({R.GENERAL_OFFICE}),
        ("release", ChannelKind.UPWARD): frozenset({R.GENERAL_OFFICE}),  # (nothing to release)
        ("pause", ChannelKind.OWN): frozenset({R.WEB_OPERATIONS, R.OPERATOR}),
        ("pause", ChannelKind.UPWARD): frozenset({R.GENERAL_OFFICE, R.OPERATOR}),
        # assisted channels: who publishes by hand and records the URL (a signed action)
        ("publish_by_hand", ChannelKind.OWN): frozenset({R.WEB_OPERATIONS}),
        ("publish_by_hand", ChannelKind.UPWARD): frozenset({R.GENERAL_OFFICE}),
        # 发布核验 on demand; the watch runs by itself
        ("verify", ChannelKind.OWN): frozenset({R.WEB_OPERATIONS, R.OPERATOR}),
        ("verify", ChannelKind.UPWARD): frozenset({R.GENERAL_OFFICE, R.OPERATOR}),
    }
)

# Who writes and edits manuscripts: 供稿人/编辑, and 综合科 as the office's single intake (it also
# drafts the reposts of adopted upward reports).
WRITERS: frozenset[Role] = frozenset({R.CONTRIBUTOR, R.GENERAL_OFFICE})

ACTION_LABELS = {
    "schedule": "安排发布",
    "retract": "撤稿",
    "retry": "重发",
    "confirm": "确认结果",
    "repost": "转载",
    "pause": "暂停或恢复渠道",
    "release": "放行或撤下待上级采用的发布",
    "publish_by_hand": "登记人工发布",
    "verify": "核验线上页面",
}


def holds(person: Person, roles: frozenset[Role], at: datetime) -> bool:
    return any(
        Role(a.role) in roles
        and a.valid_from <= at
        and (a.valid_until is None or at < a.valid_until)
        for a in person.assignments
    )


def require(
    session: Session, username: str, action: str, kind: ChannelKind, at: datetime
) -> Person:
    person = person_by_username(session, username)
    roles = PERMISSIONS.get((action, kind), frozenset())
    if not holds(person, roles, at):
        allowed = "、".join(sorted(r.label for r in roles)) or "无人"
        raise Forbidden(
            f"{person.name}无权{ACTION_LABELS.get(action, action)}（需要：{allowed}）",
            code="not_permitted",
        )
    return person


def require_writer(person: Person, department: Department, at: datetime) -> None:
    """综合科 writes and edits any item (the office's single intake); a 供稿人/编辑 only the
    items of the departments their role covers (their own, or one they stand in for)."""
    if not holds(person, WRITERS, at):
        allowed = "、".join(sorted(r.label for r in WRITERS))
        raise Forbidden(f"{person.name}无权提交或修改稿件（需要：{allowed}）", code="not_permitted")
    if holds(person, frozenset({R.GENERAL_OFFICE}), at):
        return
    if any(
        a.role == R.CONTRIBUTOR.value
        and a.valid_from <= at
        and (a.valid_until is None or at < a.valid_until)
        and (a.department_id or person.department_id) == department.id
        for a in person.assignments
    ):
        return
    raise Forbidden(
        f"{person.name}只能为本科室提交或修改稿件：“{department.name}”的稿件须由该科室的"
        "供稿人/编辑或综合科办理",
        code="out_of_department",
    )
