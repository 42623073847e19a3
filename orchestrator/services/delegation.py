"""代理: a dated delegation of a department role while its holder is away.

"李军 is away 12-08 to 12-12; 王强 acts as 科室负责人 of sjgl" is one role row of 王强's, covering
sjgl, open from 12-08 00:00 to 12-13 00:00 Shanghai time, naming 李军 as the one stood in for and
who granted it. The gate counts it like any dated role, so a delegate counts only inside the
dates. It is granted by the holder themselves, a 主要领导 or 综合科 (which keeps the office's
organisation), and recorded in the audit chain; ending it early is the same people's act.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.model import Role
from orchestrator import audit
from orchestrator.errors import Conflict, Forbidden, InvalidInput, NotFound
from orchestrator.models import Department, Person, RoleAssignment
from orchestrator.permissions import holds, person_by_username
from orchestrator.services.org import department_by_code

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Roles that belong to a department; the others act for the whole office.
DEPARTMENT_ROLES = frozenset({Role.CONTRIBUTOR, Role.SECTION_HEAD, Role.LEADER_IN_CHARGE})
# Who may grant or end a delegation besides the holder themselves.
GRANTORS = frozenset({Role.PRINCIPAL_LEADER, Role.GENERAL_OFFICE})


def delegate(
    session: Session,
    *,
    deputy: str,
    acting_for: str,
    role: Role,
    start: date,
    end: date,
    actor: str,
    department: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> RoleAssignment:
    """Let `deputy` hold `acting_for`'s `role` from `start` to `end` (whole Shanghai days)."""
    now = now or datetime.now(UTC)
    granter, absent, stand_in = (
        person_by_username(session, u) for u in (actor, acting_for, deputy)
    )
    _refuse_unentitled(granter, absent, now)
    if stand_in.id == absent.id:
        raise InvalidInput("代理人不能是本人", code="bad_delegation")
    if end < start:
        raise InvalidInput("代理结束日期早于开始日期", code="bad_delegation")
    if start < now.astimezone(SHANGHAI).date():
        raise InvalidInput(f"代理开始日期 {start.isoformat()} 已过", code="bad_delegation")
    valid_from = max(_midnight(start), now)
    valid_until = _midnight(end + timedelta(days=1))
    covered = _covered(absent, role, valid_from)
    target = _department(session, role, covered, department, absent)
    row = RoleAssignment(
        person=stand_in,
        role=role.value,
        valid_from=valid_from,
        valid_until=valid_until,
        department=target,
        acting_for=absent,
        granted_by=actor,
        note=note,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        "role.delegate",
        actor=actor,
        subject=f"person:{deputy}",
        payload={
            "delegation": row.id,
            "role": role.value,
            "acting_for": acting_for,
            "department": target.code if target else None,
            "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat(),
            "note": note,
        },
        at=now,
    )
    return row


def end_delegation(
    session: Session, delegation_id: int, *, actor: str, now: datetime | None = None
) -> RoleAssignment:
    """End a delegation now (it stays in the history: past approvals by the deputy hold)."""
    now = now or datetime.now(UTC)
    row = session.get(RoleAssignment, delegation_id)
    if row is None or row.acting_for is None:
        raise NotFound(f"代理 {delegation_id} 不存在", code="unknown_delegation")
    _refuse_unentitled(person_by_username(session, actor), row.acting_for, now)
    if row.valid_until is not None and row.valid_until <= now:
        raise Conflict(f"代理 {delegation_id} 已经结束", code="delegation_ended")
    row.valid_until = max(now, row.valid_from)
    audit.record(
        session,
        "role.delegation_end",
        actor=actor,
        subject=f"person:{row.person.username}",
        payload={"delegation": row.id, "valid_until": row.valid_until.isoformat()},
        at=now,
    )
    return row


def delegations(session: Session, *, current_at: datetime | None = None) -> list[RoleAssignment]:
    """Every delegation, newest first; with `current_at`, only those not ended by then."""
    query = select(RoleAssignment).where(RoleAssignment.acting_for_id.is_not(None))
    if current_at is not None:  # not over, and not ended before it began
        query = query.where(
            RoleAssignment.valid_until > current_at,
            RoleAssignment.valid_until > RoleAssignment.valid_from,
        )
    return list(session.scalars(query.order_by(RoleAssignment.valid_from.desc())))


def describe(row: RoleAssignment) -> dict[str, object]:
    assert row.acting_for is not None
    return {
        "id": row.id,
        "deputy": row.person.username,
        "deputy_name": row.person.name,
        "acting_for": row.acting_for.username,
        "acting_for_name": row.acting_for.name,
        "role": row.role,
        "role_label": Role(row.role).label,
        "department": row.department.code if row.department else None,
        "valid_from": row.valid_from,
        "valid_until": row.valid_until,
        "granted_by": row.granted_by,
        "note": row.note,
    }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=SHANGHAI).astimezone(UTC)


def _refuse_unentitled(granter: Person, absent: Person, now: datetime) -> None:
    if granter.id == absent.id or holds(granter, GRANTORS, now):
        return
    raise Forbidden(
        f"{granter.name}无权安排{absent.name}的代理：须由本人、主要领导或综合科办理",
        code="not_permitted",
    )


def _covered(absent: Person, role: Role, at: datetime) -> list[RoleAssignment]:
    rows = [
        a
        for a in absent.assignments
        if a.role == role.value
        and a.acting_for_id is None
        and a.valid_from <= at
        and (a.valid_until is None or at < a.valid_until)
    ]
    if not rows:
        raise Conflict(f"{absent.name}届时并不担任{role.label}，无从代理", code="role_not_held")
    return rows


def _department(
    session: Session,
    role: Role,
    covered: list[RoleAssignment],
    wanted: str | None,
    absent: Person,
) -> Department | None:
    """The department the delegation covers: one the absent holder's role covers."""
    if role not in DEPARTMENT_ROLES:
        return None
    codes = {department.code for a in covered if (department := a.department or absent.department)}
    if wanted is None:
        if len(codes) != 1:
            raise InvalidInput(
                f"{absent.name}的{role.label}涉及多个科室（{'、'.join(sorted(codes))}），"
                "请用 --department 指明代理哪个科室",
                code="bad_delegation",
            )
        wanted = next(iter(codes))
    if wanted not in codes:
        raise InvalidInput(
            f"{absent.name}的{role.label}不负责科室“{wanted}”", code="bad_delegation"
        )
    return department_by_code(session, wanted)
