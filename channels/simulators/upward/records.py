"""What the upward desk holds and refuses: submissions, their manuscripts, the refusals that
each platform words in its own codes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from channels.signing import SignatureFailure


class Refusal(enum.StrEnum):
    """Why the desk refuses a request, before each platform words it in its own codes."""

    SIGNATURE_INVALID = "signature_invalid"
    SIGNATURE_EXPIRED = "signature_expired"
    APP_UNKNOWN = "app_unknown"
    BAD_REQUEST = "bad_request"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    ALREADY_ADOPTED = "already_adopted"
    ALREADY_CLOSED = "already_closed"
    PACKAGE_INVALID = "package_invalid"
    PACKAGE_TOO_LARGE = "package_too_large"
    TITLE_LENGTH = "title_length"
    SIGN_OFF_MISSING = "sign_off_missing"
    CONTENT_REJECTED = "content_rejected"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"


SIGNATURE_REFUSALS = {
    SignatureFailure.APP_KEY_UNKNOWN: Refusal.APP_UNKNOWN,
    SignatureFailure.EXPIRED: Refusal.SIGNATURE_EXPIRED,
}


class Refused(Exception):
    def __init__(
        self, refusal: Refusal, message: str, problems: list[dict[str, str]] | None = None
    ):
        super().__init__(message)
        self.refusal = refusal
        self.message = message
        self.problems = problems or []


@dataclass(frozen=True, slots=True)
class Submission:
    """One manuscript on the desk."""

    id: str
    key: str
    title: str
    package_sha256: str
    via: str  # "api", "email" or "cms"
    received_at: datetime
    files: tuple[str, ...] = ()
    subject: str = ""  # of the mail, for email submissions
    state: str = "received"  # received | adopted | not_adopted | withdrawn
    published_url: str = ""
    published_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Manuscript:
    """What an adopted submission shows: the body, its images by package path, its editor."""

    body_html: str
    images: dict[str, bytes] = field(repr=False)
    editor: str = ""
    source: str = ""
    column: str = ""


@dataclass
class Desk:
    submissions: dict[str, Submission] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    manuscripts: dict[str, Manuscript] = field(default_factory=dict)
    images: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file name -> image
    sequence: int = 0
