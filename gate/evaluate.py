"""The gate's entry points: judge a record, and say which stage waits."""

from __future__ import annotations

from datetime import datetime

from gate.model import ReviewRecord, ReviewStage
from gate.policy import DEFAULT_POLICY, Policy
from gate.verdict import Verdict


def evaluate(record: ReviewRecord, policy: Policy = DEFAULT_POLICY, *, now: datetime) -> Verdict:
    """Every violation of the review rules in `record`; passed only when there is none."""
    raise NotImplementedError


def next_stage(
    record: ReviewRecord, policy: Policy = DEFAULT_POLICY, *, now: datetime
) -> ReviewStage | None:
    """The stage that waits for an approval, or None when the review is complete or rejected."""
    raise NotImplementedError
