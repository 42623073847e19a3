"""/api/v1/people and /api/v1/delegations: the organisation's people with their current roles,
and the delegations (代理) that let a deputy hold an absent person's role for a while."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gate.model import Role
from orchestrator.models import Person, RoleAssignment
from orchestrator.services import delegation, org
from orchestrator.web.deps import RowId, Who, get_app
from orchestrator.web.refusals import ApiRoute, answer_other_methods, refusals
from orchestrator.web.schemas import IsoDate, StrictBody, Text, one_of, role_names_and_labels
from orchestrator.web.v1.shared import utc_now

router = APIRouter(prefix="/api/v1", tags=["组织"], route_class=ApiRoute)


class RoleOut(BaseModel):
    role: str
    label: str


class DepartmentOut(BaseModel):
    code: str
    name: str


class PersonOut(BaseModel):
    username: str
    name: str
    department: DepartmentOut | None
    roles: list[RoleOut]


class DelegationIn(StrictBody):
    deputy: Text = Field(min_length=1, max_length=64, description="代理人用户名")
    acting_for: Text = Field(min_length=1, max_length=64, description="被代理人用户名")
    role: Annotated[str, one_of(role_names_and_labels)] = Field(
        min_length=1, max_length=64, description="代行的角色"
    )
    department: Text | None = Field(default=None, max_length=64, description="代理的科室代码")
    start: IsoDate = Field(description="开始日期（含）")
    end: IsoDate = Field(description="结束日期（含）")
    note: Text = Field(default="", max_length=500)


class DelegationOut(BaseModel):
    id: int
    deputy: str
    deputy_name: str
    acting_for: str
    acting_for_name: str
    role: str
    role_label: str
    department: str | None
    valid_from: datetime
    valid_until: datetime | None
    granted_by: str
    note: str


def person_out(person: Person, now: datetime) -> PersonOut:
    """The person with the roles they hold at `now`."""
    current = [
        a.role
        for a in person.assignments
        if a.valid_from <= now and (a.valid_until is None or now < a.valid_until)
    ]
    return PersonOut(
        username=person.username,
        name=person.name,
        department=DepartmentOut(code=person.department.code, name=person.department.name)
        if person.department
        else None,
        roles=[RoleOut(role=r, label=Role(r).label) for r in current],
    )


def delegation_out(row: RoleAssignment) -> DelegationOut:
    return DelegationOut(**delegation.describe(row))  # type: ignore[arg-type]


@router.get("/people", response_model=list[PersonOut])
def people(who: Who) -> list[PersonOut]:
    now = utc_now()
    with get_app().db.read() as session:
        return [person_out(p, now) for p in org.all_people(session)]


@router.get("/delegations", response_model=list[DelegationOut])
def delegations(
    who: Who, include_ended: Annotated[bool, Query(alias="all")] = False
) -> list[DelegationOut]:
    """Delegations (代理) not yet ended, or all of them (`?all=true`)."""
    with get_app().db.read() as session:
        rows = delegation.delegations(session, current_at=None if include_ended else utc_now())
        return [delegation_out(r) for r in rows]


@router.post(
    "/delegations",
    response_model=DelegationOut,
    status_code=201,
    responses=refusals(403, 404, 409),
)
def delegate(body: DelegationIn, who: Who) -> DelegationOut:
    """Let a deputy hold an absent person's role between two dates (by the person themselves,
    a 主要领导 or 综合科)."""
    with get_app().db.session() as session:
        row = delegation.delegate(
            session,
            deputy=body.deputy,
            acting_for=body.acting_for,
            role=org.parse_role(body.role),
            department=body.department,
            start=body.start,
            end=body.end,
            actor=who.username,
            note=body.note,
        )
        return delegation_out(row)


@router.post(
    "/delegations/{delegation_id}/end",
    response_model=DelegationOut,
    responses=refusals(403, 404, 409),
)
def end_delegation(delegation_id: RowId, who: Who) -> DelegationOut:
    with get_app().db.session() as session:
        return delegation_out(delegation.end_delegation(session, delegation_id, actor=who.username))


answer_other_methods(router)
