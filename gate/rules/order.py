"""The rules in the order they are read and reported, and the context built with the gate's
own checks: `ReviewContext(record, policy, now)` is what `evaluate` and the services judge by."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from gate.model import ReviewRecord
from gate.policy import Policy
from gate.rules.checks import ACTION_CHECKS, TRUST_CHECKS
from gate.rules.content import (
    rule_channels_requested,
    rule_images_stored,
    rule_repost_source_complete,
    rule_repost_source_qualified,
    rule_repost_source_url,
)
from gate.rules.context import ActionCheck, Context
from gate.rules.dates import rule_amendments_valid, rule_publications_signed
from gate.rules.people import rule_author_only_first_review, rule_one_stage_per_person
from gate.rules.stages import (
    rule_actions_valid,
    rule_each_stage_once,
    rule_not_rejected,
    rule_required_stages_present,
    rule_sign_off_last,
    rule_stages_in_order,
)
from gate.verdict import Violation

Rule = Callable[[Context], Iterable[Violation]]

RULES: tuple[Rule, ...] = (
    rule_channels_requested,
    rule_repost_source_complete,
    rule_repost_source_qualified,
    rule_repost_source_url,
    rule_images_stored,
    rule_actions_valid,
    rule_not_rejected,
    rule_required_stages_present,
    rule_each_stage_once,
    rule_stages_in_order,
    rule_sign_off_last,
    rule_one_stage_per_person,
    rule_author_only_first_review,
    rule_amendments_valid,
    rule_publications_signed,
)


# The rules that say whether a version's review chain is complete, whatever its rows and files.
CHAIN_RULES: tuple[Rule, ...] = tuple(
    r
    for r in RULES
    if r not in (rule_images_stored, rule_amendments_valid, rule_publications_signed)
)


class ReviewContext(Context):
    """One record under one policy at one moment, screened by `checks` (all of ACTION_CHECKS
    unless given); a repost's original is judged by CHAIN_RULES."""

    def __init__(
        self,
        record: ReviewRecord,
        policy: Policy,
        now: datetime,
        checks: Sequence[ActionCheck] = (),
    ) -> None:
        super().__init__(
            record, policy, now, checks or ACTION_CHECKS, TRUST_CHECKS, _first_chain_violation
        )


def _first_chain_violation(
    original: ReviewRecord, policy: Policy, now: datetime
) -> Violation | None:
    return next(violations(ReviewContext(original, policy, now), CHAIN_RULES), None)


def violations(context: Context, rules: Iterable[Rule] = RULES) -> Iterator[Violation]:
    for rule in rules:
        yield from rule(context)
