"""稿件 and what is signed on them: immutable versions with their images and 审批表 rows, the
signed review actions and 改期, and the blobs they point at."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.models.base import Base, utcnow

if TYPE_CHECKING:
    from orchestrator.models.people import Department, Person


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


Index("ix_review_actions_version", ReviewAction.version_id)


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
