"""Whether a person's roles let them act at a stage on an item of a department, at a time."""

from __future__ import annotations

from datetime import datetime

from gate.model import Person, ReviewStage, RoleAssignment
from gate.policy import Policy
from gate.rules.basics import holds_at


def role_covers(held: RoleAssignment, person: Person, department: str) -> bool:
    """Whether an assignment covers `department`: its own list, else the holder's department."""
    covered = held.departments
    if covered is None:
        return person.department is not None and person.department == department
    return department in covered


def role_problem(
    person: Person, stage: ReviewStage, department: str, policy: Policy, at: datetime
) -> str | None:
    """The code of what keeps `person` from acting at `stage` on an item of `department` at `at`:
    `role_not_held`, `role_out_of_scope`, or None when they may."""
    roles = policy.roles_for(stage)
    held = [h for h in person.assignments if h.role in roles and holds_at(h, at)]
    if not held:
        return "role_not_held"
    if policy.scoped(stage) and not any(role_covers(h, person, department) for h in held):
        return "role_out_of_scope"
    return None
