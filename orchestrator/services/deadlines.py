"""Who an item waits for, since when, and until when: the review stages' time limits.

Each stage has a limit by policy: `stage_working_days` working days (default 1; China's
holidays and 调休 days, orchestrator/workdays.py), or `stage_urgent_hours` hours for an item
marked urgent (工作动态). Past the limit the people of the stage are reminded; past twice the
limit the next level is told (services/notifications.py): the item's 分管领导 (who may do 终审
on its department), or, when the wait is at 终审 or after it, the principal leader.

A stage starts when the version was made or when the stage before it was approved, whichever
is later; the gate's own `ReviewContext` says which stage is next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gate.model import Decision, ReviewStage, Role
from gate.rules import ReviewContext, role_problem
from orchestrator import workdays
from orchestrator.models import Person, ReviewAction, Submission, Version
from orchestrator.services import review
from orchestrator.settings import Settings


@dataclass(frozen=True)
class Wait:
    """The stage `submission` waits at, since when, when it is due and when it escalates."""

    submission: Submission
    stage: ReviewStage
    since: datetime
    due: datetime
    escalate_at: datetime

    def overdue(self, now: datetime) -> bool:
        return now >= self.due

    def waited(self, now: datetime) -> timedelta:
        return max(now - self.since, timedelta(0))


@dataclass(frozen=True)
class Returned:
    submission: Submission
    decision: str
    stage: str
    actor: str
    comment: str
    acted_at: datetime
    action_id: int


def open_submissions() -> Select[Submission]:
    """Submissions whose current version is not yet signed off, newest first: the only ones
    that can wait for anybody. (A version's sign-off approval is the end of its review.)"""
    current = (
        select(Version.submission_id, func.max(Version.id).label("version_id"))
        .group_by(Version.submission_id)
        .subquery()
    )
    signed_off = (
        select(ReviewAction.submission_id)
        .join(
            current,
            (current.c.submission_id == ReviewAction.submission_id)
            & (current.c.version_id == ReviewAction.version_id),
        )
        .where(
            ReviewAction.stage == ReviewStage.SIGN_OFF.value,
            ReviewAction.decision == Decision.APPROVE.value,
        )
    )
    return select(Submission).where(Submission.id.not_in(signed_off)).order_by(Submission.id.desc())


def wait_of(sub: Submission, context: ReviewContext, settings: Settings) -> Wait | None:
    """Where `sub` waits now, or None (its review is over, or it came back to its author)."""
    stage = context.next_stage()
    if stage is None or returned_to(sub) is not None:
        return None
    version = sub.current
    approvals = [
        a.acted_at
        for a in sub.actions
        if a.fingerprint == version.fingerprint and a.decision == Decision.APPROVE.value
    ]
    since = max([version.created_at, *approvals])
    return Wait(
        sub,
        stage,
        since,
        due_after(since, sub.urgent, settings),
        due_after(since, sub.urgent, settings, times=2),
    )


def due_after(since: datetime, urgent: bool, settings: Settings, times: int = 1) -> datetime:
    """When a stage that started at `since` is due (`times=2`: when it escalates)."""
    if urgent:
        return since + times * timedelta(hours=settings.stage_urgent_hours)
    return workdays.working_days_after(since, times * settings.stage_working_days)


def may_act(sub: Submission, person: Person, context: ReviewContext, now: datetime) -> bool:
    """Whether `person` may act at the stage `sub` waits at. Roles decide; the gate's own
    one-person-one-stage and author-only-初审 rules leave out those it would refuse anyway."""
    stage = context.next_stage()
    if stage is None:
        return False
    if role_problem(review.gate_person(person), stage, sub.department.code, context.policy, now):
        return False
    if sub.author_id == person.id and stage is not ReviewStage.FIRST:
        return False
    return not any(a.actor_id == person.username for a in context.effective_approvals)


def returned_to(sub: Submission) -> Returned | None:
    """The last decision on the current version when it was 退回 or 驳回."""
    version = sub.current
    mine = [a for a in sub.actions if a.fingerprint == version.fingerprint]
    if not mine or mine[-1].decision == Decision.APPROVE.value:
        return None
    last = mine[-1]
    return Returned(
        sub,
        Decision(last.decision).label,
        ReviewStage(last.stage).label,
        last.actor.name,
        last.comment,
        last.acted_at,
        last.id,
    )


def escalation_targets(
    wait: Wait, people: Iterable[Person], context: ReviewContext, now: datetime
) -> list[Person]:
    """The next level: who may do 终审 on the item's department (its 分管领导), or the
    principal leader when the wait is at 终审 or after it."""
    department = wait.submission.department.code
    if wait.stage.rank < ReviewStage.FINAL.rank:
        return [
            p
            for p in people
            if role_problem(
                review.gate_person(p), ReviewStage.FINAL, department, context.policy, now
            )
            is None
        ]
    return [
        p
        for p in people
        if any(
            a.role == Role.PRINCIPAL_LEADER.value
            and a.valid_from <= now
            and (a.valid_until is None or now < a.valid_until)
            for a in p.assignments
        )
    ]


def people(session: Session) -> list[Person]:
    return list(session.scalars(select(Person).order_by(Person.id)))
