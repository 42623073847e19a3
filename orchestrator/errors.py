"""Refusals the services raise: a stable English code for programs, a Chinese message for people.

SanshenError          base
├── NotFound          the thing named does not exist
├── InvalidInput      malformed or contradictory input
├── Forbidden         the person lacks the role for this action
├── Conflict          the action does not fit the current state (order, duplicates)
├── WrongPassword     the password did not unlock the signing key
├── Unauthenticated   no valid session or token (or the account is locked)
└── GateRefused       the review gate found violations (they travel with the error)
"""

from __future__ import annotations

from typing import Any


class SanshenError(Exception):
    code = "error"
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        return out


class NotFound(SanshenError):
    code = "not_found"
    exit_code = 3


class InvalidInput(SanshenError):
    code = "invalid_input"
    exit_code = 2


class Forbidden(SanshenError):
    code = "forbidden"
    exit_code = 4


class Conflict(SanshenError):
    code = "conflict"
    exit_code = 5


class WrongPassword(SanshenError):
    code = "wrong_password"
    exit_code = 4


class Unauthenticated(SanshenError):
    code = "unauthenticated"
    exit_code = 4


class GateRefused(SanshenError):
    code = "gate_refused"
    exit_code = 6


class ContentMissingError(SanshenError):
    code = "content_missing"
