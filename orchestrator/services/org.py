"""The organisation: departments, people, their keys and their dated roles."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.model import Role
from orchestrator import audit, keys
from orchestrator.errors import Conflict, InvalidInput, NotFound
from orchestrator.models import Department, Person, RoleAssignment
from orchestrator.permissions import person_by_username as person_by_username  # re-exported
from orchestrator.services.orgfile import ROLE_BY_NAME as ROLE_BY_NAME
from orchestrator.services.orgfile import DepartmentSpec as DepartmentSpec
from orchestrator.services.orgfile import OrganisationSpec as OrganisationSpec
from orchestrator.services.orgfile import PersonSpec as PersonSpec
from orchestrator.services.orgfile import parse_organisation as parse_organisation
from orchestrator.services.orgfile import parse_role as parse_role


@dataclass
class NewPerson:
    person: Person
    password: str
    generated: bool


def department_by_code(session: Session, code: str) -> Department:
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(f"科室/窗口“{code}”不存在", code="unknown_department")
    return department


def add_department(session: Session, code: str, name: str, *, actor: str = "") -> Department:
    if session.scalar(select(Department).where(Department.code == code)) is not None:
        raise Conflict(f"科室/窗口“{code}”已存在", code="department_exists")
    department = Department(code=code, name=name)
    session.add(department)
    session.flush()
    audit.record(
        session, "department.add", actor=actor, subject=f"department:{code}", payload={"name": name}
    )
    return department


def add_person(
    session: Session,
    spec: PersonSpec,
    *,
    kdf_profile: str,
    actor: str = "",
    now: datetime | None = None,
) -> NewPerson:
    if session.scalar(select(Person).where(Person.username == spec.username)) is not None:
        raise Conflict(f"人员“{spec.username}”已存在", code="person_exists")
    roles = [parse_role(r) for r in spec.roles]
    department = department_by_code(session, spec.department) if spec.department else None
    generated = spec.password is None
    password = spec.password or secrets.token_urlsafe(12)
    sealed = keys.new_key(password, kdf_profile)
    person = Person(
        username=spec.username,
        name=spec.name,
        department=department,
        public_key=sealed.public_key,
        sealed_private_key=sealed.sealed_private_key,
        kdf_salt=sealed.salt,
        kdf_opslimit=sealed.opslimit,
        kdf_memlimit=sealed.memlimit,
        password_hash=keys.hash_password(password, kdf_profile),
        wecom_userid=spec.wecom_userid,
        email=spec.email,
    )
    session.add(person)
    session.flush()
    audit.record(
        session,
        "person.add",
        actor=actor,
        subject=f"person:{spec.username}",
        payload={
            "name": spec.name,
            "department": spec.department,
            "public_key": sealed.public_key.hex(),
        },
    )
    if spec.in_charge_of and Role.LEADER_IN_CHARGE not in roles:
        raise InvalidInput(
            f"{spec.name}：只有分管领导（leader_in_charge）可以填写 in_charge_of",
            code="bad_organisation",
        )
    for role in roles:
        if role is Role.LEADER_IN_CHARGE and spec.in_charge_of:
            for code in spec.in_charge_of:
                department = department_by_code(session, code)
                grant_role(session, person, role, department=department, actor=actor, now=now)
        else:
            grant_role(session, person, role, actor=actor, now=now)
    return NewPerson(person, password, generated)


def grant_role(
    session: Session,
    person: Person,
    role: Role,
    *,
    department: Department | None = None,
    actor: str = "",
    now: datetime | None = None,
) -> RoleAssignment:
    """Open a role from now on, covering `department` (None: the person's own)."""
    now = now or datetime.now(UTC)
    if any(
        a.role == role.value
        and a.valid_until is None
        and a.acting_for_id is None
        and a.department_id == (department.id if department else None)
        for a in person.assignments
    ):
        where = f"（{department.name}）" if department else ""
        raise Conflict(f"{person.name} 已担任 {role.label}{where}", code="role_already_held")
    assignment = RoleAssignment(
        person=person, role=role.value, valid_from=now, department=department, granted_by=actor
    )
    session.add(assignment)
    session.flush()
    audit.record(
        session,
        "role.grant",
        actor=actor,
        subject=f"person:{person.username}",
        payload={
            "role": role.value,
            "department": department.code if department else None,
            "valid_from": now.isoformat(),
        },
        at=now,
    )
    return assignment


def revoke_role(
    session: Session, person: Person, role: Role, *, actor: str = "", now: datetime | None = None
) -> RoleAssignment:
    now = now or datetime.now(UTC)
    ending = [
        a
        for a in person.assignments
        if a.role == role.value and a.valid_until is None and a.acting_for_id is None
    ]
    if not ending:
        raise Conflict(f"{person.name} 当前并未担任 {role.label}", code="role_not_held")
    for assignment in ending:  # a 分管领导 holds one row per department in charge of
        assignment.valid_until = now
    audit.record(
        session,
        "role.revoke",
        actor=actor,
        subject=f"person:{person.username}",
        payload={"role": role.value, "valid_until": now.isoformat()},
        at=now,
    )
    return ending[0]


def set_in_charge(
    session: Session,
    person: Person,
    codes: list[str],
    *,
    actor: str = "",
    now: datetime | None = None,
) -> list[str]:
    """Make a 分管领导 in charge of exactly these departments from now on: rows for the others
    end now (their past approvals still count), rows for new ones open now."""
    now = now or datetime.now(UTC)
    wanted = {code: department_by_code(session, code) for code in dict.fromkeys(codes)}
    leader = Role.LEADER_IN_CHARGE.value
    current = [
        a
        for a in person.assignments
        if a.role == leader and a.valid_until is None and a.acting_for_id is None
    ]
    if not current:
        raise Conflict(f"{person.name} 当前并未担任 分管领导", code="role_not_held")
    for assignment in current:
        code = assignment.department.code if assignment.department else None
        if code not in wanted:
            assignment.valid_until = now
    held = {a.department.code for a in current if a.department and a.department.code in wanted}
    for code, department in wanted.items():
        if code not in held:
            session.add(
                RoleAssignment(
                    person=person,
                    role=leader,
                    valid_from=now,
                    department=department,
                    granted_by=actor,
                )
            )
    session.flush()
    audit.record(
        session,
        "role.in_charge",
        actor=actor,
        subject=f"person:{person.username}",
        payload={"departments": list(wanted)},
        at=now,
    )
    return list(wanted)


def initialise(
    session: Session, spec: OrganisationSpec, *, kdf_profile: str, actor: str = "init"
) -> list[NewPerson]:
    """Create every department and person of the spec in one transaction (all or nothing)."""
    for dept in spec.departments:
        add_department(session, dept.code, dept.name, actor=actor)
    created = [add_person(session, p, kdf_profile=kdf_profile, actor=actor) for p in spec.people]
    audit.record(
        session,
        "organisation.init",
        actor=actor,
        subject="organisation",
        payload={"name": spec.organisation, "people": len(created)},
    )
    return created


def all_people(session: Session) -> list[Person]:
    return list(session.scalars(select(Person).order_by(Person.username)))


def describe_person(person: Person) -> dict[str, Any]:
    open_ = [a for a in person.assignments if a.valid_until is None and a.acting_for_id is None]
    return {
        "username": person.username,
        "name": person.name,
        "department": person.department.code if person.department else None,
        "roles": list(dict.fromkeys(a.role for a in open_)),
        "in_charge_of": [
            a.department.code
            for a in open_
            if a.role == Role.LEADER_IN_CHARGE.value and a.department is not None
        ],
        "public_key": person.public_key.hex(),
    }


NOTIFY_ROUTES = {"wecom": "企业微信", "email": "邮件"}
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WECOM_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def set_notify(
    session: Session,
    username: str,
    *,
    actor: str,
    wecom_userid: str | None = None,
    email: str | None = None,
    via: list[str] | None = None,
    digest: bool | None = None,
    now: datetime | None = None,
) -> Person:
    """How a person is told: their 企业微信 userid and e-mail ("" clears one), which of them,
    and whether as a daily digest. Every problem named, nothing changed when one is found."""
    person = person_by_username(session, username)
    problems = []
    if wecom_userid and not WECOM_PATTERN.match(wecom_userid):
        problems.append(f"企业微信账号“{wecom_userid}”格式不对（字母、数字、_.@-，至多 64 位）")
    if email and not EMAIL_PATTERN.match(email):
        problems.append(f"邮箱“{email}”格式不对")
    unknown = [v for v in via or [] if v not in NOTIFY_ROUTES]
    if unknown:
        problems.append(f"未知的通知方式：{'、'.join(unknown)}（可选：wecom 企业微信、email 邮件）")
    if problems:
        raise InvalidInput("；".join(problems), code="invalid_notify", details=problems)
    if wecom_userid is not None:
        person.wecom_userid = wecom_userid or None
    if email is not None:
        person.email = email or None
    if via is not None:
        person.notify_via = ",".join(v for v in NOTIFY_ROUTES if v in via)
    if digest is not None:
        person.notify_digest = digest
    audit.record(
        session,
        "person.notify",
        actor=actor,
        subject=f"person:{username}",
        payload={
            "wecom_userid": person.wecom_userid,
            "email": person.email,
            "via": person.notify_via,
            "digest": person.notify_digest,
        },
        at=now or datetime.now(UTC),
    )
    return person
