"""The database (SQLAlchemy 2.0 typed ORM). Versions and review actions are never updated."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from orchestrator.db import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    # Named constraints, so migrations can alter them on every database (SQLite batch mode too).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}  # noqa: RUF012


class Department(Base):
    """科室/窗口."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The Ed25519 private key, sealed under a key derived from the person's own password.
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    kdf_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    kdf_opslimit: Mapped[int] = mapped_column(Integer)
    kdf_memlimit: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sign-in: an argon2id hash (libsodium's string form). Null for people created before the
    # console existed; their first sign-in checks the password against the sealed key instead.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Told when something waits for them (orchestrator/services/notifications.py): the
    # 企业微信 userid and/or e-mail address, which of them (comma-separated: wecom, email;
    # empty: none) and whether as one digest a day instead of each message at once.
    wecom_userid: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    notify_via: Mapped[str] = mapped_column(
        String(32), default="wecom,email", server_default="wecom,email"
    )
    notify_digest: Mapped[bool] = mapped_column(default=False, server_default=false())

    department: Mapped[Department | None] = relationship()
    assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="person",
        order_by="RoleAssignment.valid_from",
        foreign_keys="RoleAssignment.person_id",
    )


class RoleAssignment(Base):
    """A role held from valid_from (inclusive) to valid_until (exclusive; open when null).

    `department_id` is the department the role covers; null means the holder's own department.
    A 分管领导 holds one row per department in charge of. A delegation (代理) is a dated row
    with `acting_for_id` naming whose duty it stands in for and `granted_by` who granted it.
    """

    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    acting_for_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    granted_by: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(500), default="")

    person: Mapped[Person] = relationship(back_populates="assignments", foreign_keys=[person_id])
    department: Mapped[Department | None] = relationship()
    acting_for: Mapped[Person | None] = relationship(foreign_keys=[acting_for_id])


class Blob(Base):
    """An image or attachment, stored on disk by its SHA-256."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    mime: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Submission(Base):
    """稿件. `uid` is what signatures bind, so it survives a move to another database."""

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_department_id", "department_id"),
        Index("uq_submissions_repost_origin_id", "repost_origin_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # For a repost (转载): the upward publication whose adoption it reposts.
    repost_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("publications.id", use_alter=True), unique=True
    )
    # …and the original submission: one repost per original, whichever platform adopted first
    # (a second adoption is recorded, not reposted). Unique in the database.
    repost_origin_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # 紧急（如工作动态）: each review stage has hours, not a working day (stage deadlines).
    urgent: Mapped[bool] = mapped_column(default=False, server_default=false())

    department: Mapped[Department] = relationship()
    author: Mapped[Person] = relationship()
    versions: Mapped[list[Version]] = relationship(
        back_populates="submission", order_by="Version.number"
    )
    actions: Mapped[list[ReviewAction]] = relationship(
        back_populates="submission", order_by="ReviewAction.id"
    )
    amendments: Mapped[list[DateAmendment]] = relationship(order_by="DateAmendment.id")

    @property
    def current(self) -> Version:
        return self.versions[-1]


class Version(Base):
    """An immutable version: everything that will be published, and its fingerprint."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("submission_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(500))
    body_html: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(500), default="")
    byline: Mapped[str] = mapped_column(String(100), default="")
    cover_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    major_event: Mapped[bool] = mapped_column(Boolean, default=False)
    special_content: Mapped[bool] = mapped_column(Boolean, default=False)
    repost_platform: Mapped[str | None] = mapped_column(String(100))
    repost_url: Mapped[str | None] = mapped_column(String(1000))
    repost_published_at: Mapped[datetime | None]
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Made by 综合科's 稿件用途, which changed only the 审批表 rows: the version whose 初审–终审
    # carry over to this one (the gate checks that nothing but the rows differs).
    reviewed_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    # Signed off before the office had 稿件用途 (migration 0008): goes out without it.
    usage_exempt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    submission: Mapped[Submission] = relationship(back_populates="versions")
    reviewed_version: Mapped[Version | None] = relationship(remote_side="Version.id")
    images: Mapped[list[VersionImage]] = relationship(
        order_by="VersionImage.position", back_populates="version"
    )
    channels: Mapped[list[ChannelRequestRow]] = relationship(order_by="ChannelRequestRow.position")


class VersionImage(Base):
    __tablename__ = "version_images"

    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    filename: Mapped[str] = mapped_column(String(255))

    version: Mapped[Version] = relationship(back_populates="images")


class ChannelRequestRow(Base):
    """A row of the 审批表: the channel (发布形式), its publish date and remark."""

    __tablename__ = "channel_requests"
    # The calendar's planned blocks: the rows of items still in review, by date.
    __table_args__ = (Index("ix_channel_requests_publish_date", "publish_date"),)

    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    publish_date: Mapped[date] = mapped_column(Date)
    remark: Mapped[str] = mapped_column(String(500), default="")

    version: Mapped[Version] = relationship(back_populates="channels")


class ReviewAction(Base):
    """A signed review decision on one version (by fingerprint)."""

    __tablename__ = "review_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    acted_at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(Text, default="")
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))

    submission: Mapped[Submission] = relationship(back_populates="actions")
    actor: Mapped[Person] = relationship()


class DateAmendment(Base):
    """A signed 改期: the 宣传分管领导 moved one signed row's 发布日期 (never updated)."""

    __tablename__ = "date_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    old_date: Mapped[date] = mapped_column(Date)
    new_date: Mapped[date] = mapped_column(Date)
    actor_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    acted_at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(Text, default="")
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))

    actor: Mapped[Person] = relationship()


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


class CalendarFeed(Base):
    """A person's iCalendar subscription (read-only .ics). Only the token's SHA-256 is stored;
    revoking it ends the feed at once."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship()


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


Index("ix_review_actions_version", ReviewAction.version_id)


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


class Publication(Base):
    """One (version, channel): the unit that is scheduled, sent, confirmed and retracted."""

    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("version_id", "channel"),
        Index("ix_publications_due", "state", "scheduled_at"),
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


class WebSession(Base):
    """A browser session. Only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship()


class ApiToken(Base):
    """A token for scripts (Authorization: Bearer). Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship()


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
