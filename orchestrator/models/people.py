"""The organisation and its people: 科室, 人员, 角色任命 (with 代理), and how they sign in
(browser sessions, API tokens, calendar feeds)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orchestrator.models.base import Base, utcnow


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
        # the id breaks ties, so every load lists them in one order (the gate's record compares)
        order_by="[RoleAssignment.valid_from, RoleAssignment.id]",
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
