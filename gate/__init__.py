"""The review gate: pure functions over a review record. No I/O, nothing else of ours.

evaluate(record, policy, *, now) -> Verdict     every violation at once
next_stage(record, policy, *, now) -> stage     what waits (None: complete or rejected)
"""

from gate.evaluate import evaluate, next_stage
from gate.policy import DEFAULT_POLICY, InvalidPolicy, Policy
from gate.verdict import MISSING_STAGE_CODES, VIOLATION_MESSAGES, Verdict, Violation

__all__ = [
    "DEFAULT_POLICY",
    "MISSING_STAGE_CODES",
    "VIOLATION_MESSAGES",
    "InvalidPolicy",
    "Policy",
    "Verdict",
    "Violation",
    "evaluate",
    "next_stage",
]
