"""The checks on one action of this version: any finding means the action does not count."""

from __future__ import annotations

from gate.model import ReviewAction
from gate.rules.basics import action_violation, aware
from gate.rules.context import ActionCheck, Context
from gate.rules.roles import role_problem
from gate.signature import signature_valid
from gate.verdict import Violation


def _about(context: Context, action: ReviewAction) -> dict[str, object]:
    return {"decision": action.decision.label, "actor": context.name(action.actor_id)}


def check_time_aware(context: Context, action: ReviewAction) -> Violation | None:
    if aware(action.acted_at):
        return None
    return action_violation("action_time_invalid", action, **_about(context, action))


def check_actor_known(context: Context, action: ReviewAction) -> Violation | None:
    if action.actor_id in context.record.people:
        return None
    return action_violation("unknown_actor", action, **_about(context, action))


def check_signature(context: Context, action: ReviewAction) -> Violation | None:
    if signature_valid(action, context.record.people[action.actor_id].public_key):
        return None
    return action_violation("signature_invalid", action, **_about(context, action))


def check_role_held(context: Context, action: ReviewAction) -> Violation | None:
    """The actor held a role of the stage at the time, covering the item's department when the
    policy scopes the stage (a delegate only inside the delegation's dates)."""
    department = context.record.department
    person = context.record.people[action.actor_id]
    code = role_problem(person, action.stage, department, context.policy, action.acted_at)
    if code is None:
        return None
    labels = "、".join(sorted(r.label for r in context.policy.roles_for(action.stage)))
    return action_violation(
        code,
        action,
        acted_at=action.acted_at.isoformat(),
        roles=labels,
        department=department,
        **_about(context, action),
    )


def check_not_in_future(context: Context, action: ReviewAction) -> Violation | None:
    if action.acted_at <= context.now + context.policy.clock_skew:
        return None
    return action_violation(
        "action_in_future", action, acted_at=action.acted_at.isoformat(), **_about(context, action)
    )


ACTION_CHECKS: tuple[ActionCheck, ...] = (
    check_time_aware,
    check_actor_known,
    check_signature,
    check_role_held,
    check_not_in_future,
)
# A failure here ends the checks of that action: without an aware time and a known actor the
# signature cannot be checked, and the fields of a badly signed action say nothing reliable.
TRUST_CHECKS: frozenset[ActionCheck] = frozenset(
    {check_time_aware, check_actor_known, check_signature}
)
