"""The rules over the review chain: valid actions, no 驳回, every stage once and in order."""

from __future__ import annotations

from collections.abc import Iterator

from gate.model import STAGE_ORDER, Decision, ReviewStage
from gate.rules.basics import SIGN_OFF, action_violation
from gate.rules.context import Context
from gate.verdict import Violation, violation


def rule_actions_valid(context: Context) -> Iterator[Violation]:
    for found in context.action_violations:
        yield from found


def rule_not_rejected(context: Context) -> Iterator[Violation]:
    rejection = context.rejection
    if rejection is not None:
        yield action_violation(
            "version_rejected", rejection, actor=context.name(rejection.actor_id)
        )


def rule_required_stages_present(context: Context) -> Iterator[Violation]:
    if context.rejection is not None:
        return  # nothing can complete a rejected version; `version_rejected` says so
    if context.original_problem and context.missing_stages:
        yield violation("repost_original_unusable", reason=context.original_problem)
    if context.usage_changed and context.missing_stages:
        # 稿件用途 may change the rows only: else the earlier approvals do not carry over
        yield violation("usage_rows_only", changed="、".join(context.usage_changed))
    for stage in context.missing_stages:
        yield violation(_why_missing(context, stage), stage=stage)


def _why_missing(context: Context, stage: ReviewStage) -> str:
    sid, fp = context.record.submission_id, context.fingerprint
    approvals = [
        a for a in context.record.actions if a.stage is stage and a.decision is Decision.APPROVE
    ]
    if any(a.stage is stage for a in context.voided_approvals):
        return "approval_voided_by_return"
    if any(a.submission_id == sid and a.fingerprint != fp for a in approvals):
        return "approval_for_other_version"
    if any(a.submission_id != sid for a in approvals):
        return "approval_for_other_submission"
    return "principal_review_missing" if stage is ReviewStage.PRINCIPAL else "stage_missing"


def rule_each_stage_once(context: Context) -> Iterator[Violation]:
    for action in context.effective_approvals:
        if context.approval_of[action.stage] is not action:
            yield action_violation(
                "duplicate_approval", action, actor=context.name(action.actor_id)
            )


def rule_stages_in_order(context: Context) -> Iterator[Violation]:
    """Each stage's approval is made after the approvals of every earlier stage (签发 aside)."""
    approval_of = context.approval_of
    done = [approval_of[s] for s in STAGE_ORDER if s in approval_of and s is not SIGN_OFF]
    for i, action in enumerate(done):
        overtaken = next((e for e in done[:i] if e.acted_at >= action.acted_at), None)
        if overtaken is not None:
            yield action_violation("stage_out_of_order", action, other=overtaken.stage.label)


def rule_sign_off_last(context: Context) -> Iterator[Violation]:
    sign_off = context.approval_of.get(SIGN_OFF)
    if sign_off is None:
        return
    for action in context.approval_of.values():
        if action is not sign_off and action.acted_at >= sign_off.acted_at:
            yield action_violation("signoff_not_last", action)
