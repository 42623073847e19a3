"""The rules over who reviewed: one stage a person, the author at 初审 only."""

from __future__ import annotations

from collections.abc import Iterator

from gate.model import STAGE_ORDER, ReviewStage
from gate.rules.basics import action_violation
from gate.rules.context import Context
from gate.verdict import Violation


def rule_one_stage_per_person(context: Context) -> Iterator[Violation]:
    first_stage_of: dict[str, ReviewStage] = {}
    for stage in STAGE_ORDER:
        action = context.approval_of.get(stage)
        if action is None:
            continue
        earlier = first_stage_of.setdefault(action.actor_id, stage)
        if earlier is not stage:
            yield action_violation(
                "same_person_multiple_stages",
                action,
                actor=context.name(action.actor_id),
                other=earlier.label,
            )


def rule_author_only_first_review(context: Context) -> Iterator[Violation]:
    author = context.record.author_id
    for stage, action in context.approval_of.items():
        if stage is not ReviewStage.FIRST and action.actor_id == author:
            yield action_violation(
                "author_reviewed_later_stage", action, actor=context.name(author)
            )
