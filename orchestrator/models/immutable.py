"""The rows that are never updated nor deleted once written: the session refuses it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from orchestrator.models.base import Base
from orchestrator.models.publications import ManualAction, Verification
from orchestrator.models.records import AuditEvent
from orchestrator.models.submissions import (
    Blob,
    ChannelRequestRow,
    DateAmendment,
    ReviewAction,
    Version,
    VersionImage,
)

IMMUTABLE = (
    Version,
    VersionImage,
    ChannelRequestRow,
    ReviewAction,
    DateAmendment,
    ManualAction,
    Verification,
    AuditEvent,
    Blob,
)


@event.listens_for(Base, "before_update", propagate=True)
def _refuse_update(_mapper: Any, _connection: Any, target: Any) -> None:
    if isinstance(target, IMMUTABLE):
        raise TypeError(f"{type(target).__name__} rows are immutable")


@event.listens_for(Base, "before_delete", propagate=True)
def _refuse_delete(_mapper: Any, _connection: Any, target: Any) -> None:
    if isinstance(target, IMMUTABLE):
        raise TypeError(f"{type(target).__name__} rows are never deleted")
