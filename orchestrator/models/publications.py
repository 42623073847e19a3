"""Publications (one version on one channel) and what happened to them: the calls to the
platform, what a person did by hand on an assisted channel, the checks of the live page, and
the 改期申请 waiting to move a row to another day."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.models.base import Base, utcnow

if TYPE_CHECKING:
    from orchestrator.models.people import Person
    from orchestrator.models.submissions import Submission, Version


class Publication(Base):
    """One (version, channel): the unit that is scheduled, sent, confirmed and retracted."""

    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("version_id", "channel"),
        Index("ix_publications_due", "state", "scheduled_at"),
        # The reconciler's rounds: the rows of a state whose check has fallen due.
        Index("ix_publications_checks", "state", "next_check_at"),
        # The board: filters by channel and state, ordered by time, often within a page of
        # submissions (bench/console.py measures them).
        Index("ix_publications_scheduled_at", "scheduled_at"),
        Index("ix_publications_board", "channel", "state", "scheduled_at"),
        Index(
            "ix_publications_submission_board", "submission_id", "channel", "state", "scheduled_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    channel: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(default=0)  # bumped by every state change
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    scheduled_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    url: Mapped[str | None] = mapped_column(String(1000))
    receipt: Mapped[dict[str, Any] | None]
    source_platform: Mapped[str | None] = mapped_column(String(100))
    source_url: Mapped[str | None] = mapped_column(String(1000))
    last_error_class: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when to ask the platform again: a submitted row's status, a stuck send's find after an error
    next_check_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)  # reason of a cancel / retract / operator call
    # A held row (待上级采用): when waiting for the adoption becomes overdue (an alert, for 综合科)
    hold_until: Mapped[datetime | None]
    # How the row goes out: "api" (the adapter sends it) or "assisted" (a person publishes it
    # on the platform and records the URL); fixed when the gate lets the row go.
    mode: Mapped[str] = mapped_column(String(16), default="api", server_default="api")
    # 发布核验: the last verdict on the live page, when, and when the watch looks again (null:
    # not watched)
    verdict: Mapped[str | None] = mapped_column(String(16))
    verified_at: Mapped[datetime | None]
    next_verify_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(foreign_keys=[submission_id])
    version: Mapped[Version] = relationship()
    attempt_rows: Mapped[list[Attempt]] = relationship(order_by="Attempt.id")


class Attempt(Base):
    """One call to a platform for a publication, with its outcome."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), index=True)
    operation: Mapped[str] = mapped_column(String(16))  # publish, status, find, retract
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str] = mapped_column(String(24))  # ok, retryable, permanent, unknown, refused
    error_class: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str] = mapped_column(String(200), default="")


class ManualAction(Base):
    """What a person did by hand on an assisted channel (no publishing API), signed with their
    key like a review: published the article there (its URL and the platform's id), or took
    it down. Never updated."""

    __tablename__ = "manual_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # published, taken_down
    url: Mapped[str] = mapped_column(String(1000))
    external_id: Mapped[str] = mapped_column(String(200), default="")
    fingerprint: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    acted_at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(Text, default="")
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))

    actor: Mapped[Person] = relationship()


class Verification(Base):
    """One check of a live page against the signed version (发布核验), with the evidence: the
    page's SHA-256 and its compressed snapshot (a blob). Never updated."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), index=True)
    checked_at: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(16))  # published, watch, manual, takedown
    actor: Mapped[str] = mapped_column(String(64), default="")
    url: Mapped[str] = mapped_column(String(1000))
    final_url: Mapped[str] = mapped_column(String(1000), default="")
    verdict: Mapped[str] = mapped_column(String(16))  # consistent, mismatch, unreachable, removed
    code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")
    http_status: Mapped[int | None]
    page_sha256: Mapped[str] = mapped_column(String(64), default="")
    snapshot_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    similarity: Mapped[float] = mapped_column(Float, default=0.0)
    diff: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"segments": [[op, text]...]}
    images: Mapped[dict[str, Any]] = mapped_column(default=dict)
    duration_ms: Mapped[int] = mapped_column(default=0)


class DateChangeRequest(Base):
    """改期申请: 政府网站运行科 asks to move a signed row to another day; it stays pending until
    the 宣传分管领导 signs it (then `amendment_id` names the signed 改期) or refuses it. At most
    one pending request per row (a partial unique index)."""

    __tablename__ = "date_change_requests"
    __table_args__ = (
        Index(
            "uq_date_change_requests_pending",
            "publication_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), index=True)
    old_date: Mapped[date] = mapped_column(Date)
    new_date: Mapped[date] = mapped_column(Date)
    at_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" Shanghai, None: same time
    comment: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # signed, refused, withdrawn
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("date_amendments.id"))

    publication: Mapped[Publication] = relationship()
    requested_by: Mapped[Person] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])
