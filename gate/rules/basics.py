"""Small helpers every rule group shares: aware times, role validity, action violations."""

from __future__ import annotations

from datetime import datetime

from gate.model import ReviewAction, ReviewStage, RoleAssignment
from gate.verdict import Violation, violation

SIGN_OFF = ReviewStage.SIGN_OFF


def aware(moment: datetime) -> bool:
    return moment.utcoffset() is not None


def holds_at(held: RoleAssignment, at: datetime) -> bool:
    return held.valid_from <= at and (held.valid_until is None or at < held.valid_until)


def has_space(text: str) -> bool:
    return any(ch.isspace() for ch in text.strip())


def action_violation(code: str, action: ReviewAction, **fields: object) -> Violation:
    return violation(code, stage=action.stage, action_id=action.id, **fields)
