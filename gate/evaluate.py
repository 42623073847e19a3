"""The gate's entry points: judge a record, and say which stage waits."""

from __future__ import annotations

from datetime import datetime

from gate.model import ReviewRecord, ReviewStage
from gate.policy import DEFAULT_POLICY, Policy
from gate.rules import ReviewContext, violations
from gate.verdict import Verdict


def evaluate(record: ReviewRecord, policy: Policy = DEFAULT_POLICY, *, now: datetime) -> Verdict:
    """Every violation of the review rules in `record`; passed only when there is none.

    `now` (timezone-aware) is the moment of the decision: actions after it (beyond the
    policy's clock skew) do not count. Raises ValueError only for a naive `now`.
    """
    return Verdict.of(violations(ReviewContext(record, policy, now)))


def next_stage(
    record: ReviewRecord, policy: Policy = DEFAULT_POLICY, *, now: datetime
) -> ReviewStage | None:
    """The first required stage still without a counting approval for this version.

    None when every required stage is approved or the version was rejected (驳回); a None
    does not mean the record passes: `evaluate` may still find violations (order, people).
    """
    return ReviewContext(record, policy, now).next_stage()
