"""What the system keeps on the side: the audit chain, alerts for 综合科, notifications to
people, and the archive of generated files."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.models.base import Base, utcnow

if TYPE_CHECKING:
    from orchestrator.models.people import Person


class AuditEvent(Base):
    """Append-only; each row carries the hash of the one before (see orchestrator.audit)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="", index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """One row: the chain's head, locked by every append so appends serialise."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))


class Alert(Base):
    """A notification that a publication failed, went unconfirmed or is overdue.

    `dedup_key` (kind + publication + the publication's revision) makes each condition alert once.
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_delivery", "delivery_state", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # failed, unconfirmed, overdue
    publication_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivery_state: Mapped[str] = mapped_column(String(16), default="pending")  # sent, failed
    delivery_attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]


class Notification(Base):
    """A message to one person: a stage waits for them, their item came back or failed on a
    channel, a reminder, an escalation. `dedup_key` makes each event one row per person, so a
    scan that runs again, or twice at once, never tells anyone twice."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_delivery", "state", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # stage, returned, failed, reminder, escalation
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    publication_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # pending, sent, failed (given up), digest (waits for the person's daily digest)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    via: Mapped[str | None] = mapped_column(String(32))  # what delivered it: wecom, email
    last_error: Mapped[str | None] = mapped_column(Text)

    person: Mapped[Person] = relationship()


class ArchiveEntry(Base):
    """An archived file (审批表, content, bulletin), stored by SHA-256 in the archive folder."""

    __tablename__ = "archive_entries"
    __table_args__ = (Index("ix_archive_entries_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # form_pdf, form_docx, content, bulletin_pdf...
    name: Mapped[str] = mapped_column(String(255))  # the file name offered on download
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    mime: Mapped[str] = mapped_column(String(100))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    period: Mapped[str | None] = mapped_column(String(32))  # a bulletin's period, e.g. 2026-10
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
