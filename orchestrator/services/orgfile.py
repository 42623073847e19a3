"""The organisation file (YAML: departments, people, their roles) read into checked specs,
every problem named in Chinese; and role names as people write them (value or label)."""

from __future__ import annotations

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gate.model import Role
from orchestrator.errors import InvalidInput

ROLE_BY_NAME: dict[str, Role] = {r.value: r for r in Role} | {r.label: r for r in Role}


def parse_role(text: str) -> Role:
    role = ROLE_BY_NAME.get(text.strip())
    if role is None:
        known = "、".join(f"{r.value}（{r.label}）" for r in Role)
        raise InvalidInput(f"未知角色“{text}”。可用角色：{known}", code="unknown_role")
    return role


class DepartmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class PersonSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=100)
    department: str | None = None
    roles: list[str] = Field(default_factory=list)
    # For a 分管领导: the departments whose 终审 they do (their role covers these, not their own).
    in_charge_of: list[str] = Field(default_factory=list)
    password: str | None = None
    # Told when something waits for them (services/notifications.py).
    wecom_userid: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class OrganisationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organisation: str = "青浦区政务服务办公室"
    departments: list[DepartmentSpec] = Field(default_factory=list)
    people: list[PersonSpec] = Field(default_factory=list)


def parse_organisation(text: str) -> OrganisationSpec:
    """Parse the organisation YAML; every problem is named, in Chinese."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        raise InvalidInput(f"组织文件不是有效的 YAML {where}：{exc}", code="bad_yaml") from None
    if not isinstance(data, dict):
        raise InvalidInput("组织文件应是一个映射（含 departments、people）", code="bad_yaml")
    try:
        return OrganisationSpec.model_validate(data)
    except ValidationError as exc:
        problems = "；".join(
            f"{'.'.join(str(p) for p in err['loc'])}：{err['msg']}" for err in exc.errors()
        )
        raise InvalidInput(f"组织文件内容有误：{problems}", code="bad_organisation") from None
