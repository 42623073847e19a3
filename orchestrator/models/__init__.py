"""The database (SQLAlchemy 2.0 typed ORM). Versions and review actions are never updated.

One declarative Base and metadata (models.base); the models live in modules by domain and are
all importable from here, as Alembic's env and the rest of the code do.
"""

from orchestrator.models.base import Base, utcnow
from orchestrator.models.immutable import IMMUTABLE
from orchestrator.models.people import (
    ApiToken,
    CalendarFeed,
    Department,
    Person,
    RoleAssignment,
    WebSession,
)
from orchestrator.models.publications import (
    Attempt,
    DateChangeRequest,
    ManualAction,
    Publication,
    Verification,
)
from orchestrator.models.records import Alert, ArchiveEntry, AuditEvent, AuditHead, Notification
from orchestrator.models.submissions import (
    Blob,
    ChannelRequestRow,
    DateAmendment,
    ReviewAction,
    Submission,
    Version,
    VersionImage,
)

__all__ = [
    "IMMUTABLE",
    "Alert",
    "ApiToken",
    "ArchiveEntry",
    "Attempt",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Blob",
    "CalendarFeed",
    "ChannelRequestRow",
    "DateAmendment",
    "DateChangeRequest",
    "Department",
    "ManualAction",
    "Notification",
    "Person",
    "Publication",
    "ReviewAction",
    "RoleAssignment",
    "Submission",
    "Verification",
    "Version",
    "VersionImage",
    "WebSession",
    "utcnow",
]
