"""The review gate: pure functions over a review record. No I/O, nothing else of ours.

    evaluate(record, policy=DEFAULT_POLICY, *, now) -> Verdict
        every violation at once; Verdict.passed only when there is none
    next_stage(record, policy=DEFAULT_POLICY, *, now) -> ReviewStage | None
        the first required stage still waiting (None: all approved, or rejected)
    review_aids(content, *, sensitive_words, today) -> list[Aid]
        hints for the people who review; never a verdict
    sign_action(action, signing_key) -> ReviewAction / signature_valid(action, public_key)

`VIOLATION_MESSAGES` (gate.verdict) lists every violation code with its Chinese message;
`gate.rules.RULES` lists the rules in the order they are reported.
"""

from gate.aids import AID_MESSAGES, DEFAULT_SENSITIVE_WORDS, Aid, review_aids
from gate.evaluate import evaluate, next_stage
from gate.policy import DEFAULT_POLICY, InvalidPolicy, Policy
from gate.signature import payload_of, sign_action, signature_valid
from gate.verdict import MISSING_STAGE_CODES, VIOLATION_MESSAGES, Verdict, Violation

__all__ = [
    "AID_MESSAGES",
    "DEFAULT_POLICY",
    "DEFAULT_SENSITIVE_WORDS",
    "MISSING_STAGE_CODES",
    "VIOLATION_MESSAGES",
    "Aid",
    "InvalidPolicy",
    "Policy",
    "Verdict",
    "Violation",
    "evaluate",
    "next_stage",
    "payload_of",
    "review_aids",
    "sign_action",
    "signature_valid",
]
