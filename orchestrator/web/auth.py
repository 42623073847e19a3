"""Who is asking: password sign-in with browser sessions, API tokens for scripts, lock-out, CSRF.

Passwords are checked against an argon2id hash (libsodium's string form). People created before
the console existed have no hash yet: their first sign-in checks the password by opening their
sealed signing key (also argon2id) and stores the hash then.

Session cookies and API tokens are random 32-byte strings; the database keeps only their
SHA-256, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import nacl.exceptions
import nacl.pwhash
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import audit, keys
from orchestrator.db import Database
from orchestrator.errors import Forbidden, NotFound, Unauthenticated, WrongPassword
from orchestrator.models import ApiToken, Person, WebSession, utcnow
from orchestrator.settings import Settings

SESSION_COOKIE = "sanshen_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
# Before there is a session, the sign-in form carries a token that must match this cookie
# (double submit), so another site cannot sign a browser in to an account of its choosing.
LOGIN_CSRF_COOKIE = "sanshen_login_csrf"
TOKEN_PREFIX = "ssp_"


@dataclass(frozen=True)
class Principal:
    """The signed-in person, as every request handler sees them."""

    person_id: int
    username: str
    name: str
    via: str  # "session" or "token"
    csrf_token: str | None  # only for browser sessions


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _password_ok(person: Person, password: str) -> bool:
    if person.password_hash:
        try:
            return bool(nacl.pwhash.verify(person.password_hash.encode(), password.encode()))
        except nacl.exceptions.InvalidkeyError:
            return False
    try:
        keys.unseal(_sealed(person), password)
    except WrongPassword:
        return False
    return True


def _sealed(person: Person) -> keys.SealedKey:
    return keys.SealedKey(
        public_key=person.public_key,
        sealed_private_key=person.sealed_private_key,
        salt=person.kdf_salt,
        opslimit=person.kdf_opslimit,
        memlimit=person.kdf_memlimit,
    )


@dataclass
class Stranger:
    """Stands in for a username nobody has: its failures are counted and locked like a
    person's, so neither the answer nor the lock-out tells which usernames exist. Kept in this
    process (the API runs one), the oldest forgotten past STRANGERS_KEPT."""

    username: str
    failed_logins: int = 0
    locked_until: datetime | None = None


STRANGERS_KEPT = 10_000
_strangers: dict[str, Stranger] = {}


def _stranger(username: str) -> Stranger:
    found = _strangers.pop(username, None) or Stranger(username)
    _strangers[username] = found  # most recent last
    while len(_strangers) > STRANGERS_KEPT:
        del _strangers[next(iter(_strangers))]
    return found


@cache
def _stand_in_hash(kdf_profile: str) -> bytes:
    return keys.hash_password(secrets.token_urlsafe(16), kdf_profile).encode()


def _stand_in_check(password: str, settings: Settings) -> bool:
    """As long as checking a real password: the same argon2id verification, never true."""
    with suppress(nacl.exceptions.InvalidkeyError):
        nacl.pwhash.verify(_stand_in_hash(settings.kdf_profile), password.encode())
    return False


def _locked(account: Person | Stranger, now: datetime) -> Unauthenticated | None:
    if account.locked_until is None or account.locked_until <= now:
        return None
    minutes = max(1, int((account.locked_until - now).total_seconds() // 60) + 1)
    return Unauthenticated(
        f"密码连续输错次数过多，账户已锁定，请约 {minutes} 分钟后再试", code="account_locked"
    )


def check_password(
    session: Session, username: str, password: str, settings: Settings, *, now: datetime
) -> Person:
    """The person if the password is right. Counts failures and locks the account after too many.

    Unknown users get the same answers as wrong passwords, lock-out included, after the same
    work, so sign-in does not reveal who exists.
    """
    person = session.scalar(select(Person).where(Person.username == username))
    account = person if person is not None else _stranger(username)
    locked = _locked(account, now)
    if locked is not None:
        raise locked
    right = _password_ok(person, password) if person else _stand_in_check(password, settings)
    if person is None or not right:
        _count_failure(session, account, settings, now)
        raise Unauthenticated("用户名或密码不正确", code="bad_credentials")
    person.failed_logins = 0
    person.locked_until = None
    if not person.password_hash:
        person.password_hash = keys.hash_password(password, settings.kdf_profile)
    return person


def sign_in(
    session: Session,
    username: str,
    password: str,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> tuple[str, WebSession]:
    """A new browser session: (the cookie value, the row). The caller commits either way, so a
    failed attempt is counted (check_password raises after updating the counter)."""
    now = now or utcnow()
    person = check_password(session, username, password, settings, now=now)
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_digest(token),
        person_id=person.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
    )
    session.add(row)
    audit.record(session, "session.start", actor=username, subject=f"person:{username}")
    return token, row


def attempt_sign_in(
    db: Database, username: str, password: str, settings: Settings
) -> tuple[str, str]:
    """Sign in in its own unit of work: (cookie token, CSRF token). A refusal is committed too,
    so failures count towards the lock-out, and then raised."""
    refusal: Unauthenticated | None = None
    with db.session() as session:
        try:
            token, row = sign_in(session, username, password, settings)
            csrf = row.csrf_token
        except Unauthenticated as error:
            refusal = error
    if refusal is not None:
        raise refusal
    return token, csrf


@contextmanager
def signing_guard(db: Database, username: str, settings: Settings) -> Iterator[None]:
    """Around a signature asked for over the web: a locked account signs nothing, and a wrong
    signing password counts towards the lock-out like a wrong sign-in (committed on its own, as
    the review itself is rolled back) — so a stolen session cannot guess the password."""
    now = utcnow()
    with db.read() as session:
        person = session.scalar(select(Person).where(Person.username == username))
        if person is not None and person.locked_until is not None and person.locked_until > now:
            raise Forbidden("密码连续输错次数过多，账户已锁定，暂不能签名", code="account_locked")
    try:
        yield
    except WrongPassword:
        with db.session() as session:
            person = session.scalar(select(Person).where(Person.username == username))
            if person is not None:
                _count_failure(session, person, settings, now)
        raise


def _count_failure(
    session: Session, account: Person | Stranger, settings: Settings, now: datetime
) -> None:
    account.failed_logins += 1
    if account.failed_logins >= settings.login_max_failures:
        account.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
        account.failed_logins = 0
        if isinstance(account, Person):
            audit.record(
                session,
                "person.locked",
                actor=account.username,
                subject=f"person:{account.username}",
            )


def sign_out(session: Session, cookie_token: str, *, now: datetime | None = None) -> None:
    row = session.get(WebSession, _digest(cookie_token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()


def session_principal(
    session: Session, cookie_token: str, settings: Settings, *, now: datetime | None = None
) -> Principal:
    now = now or utcnow()
    row = session.get(WebSession, _digest(cookie_token))
    expired = Unauthenticated("登录已过期，请重新登录", code="session_expired")
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise expired
    if row.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        raise expired
    # Touch at most once a minute: most requests then stay read-only.
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return Principal(row.person.id, row.person.username, row.person.name, "session", row.csrf_token)


def create_token(
    session: Session,
    username: str,
    name: str,
    *,
    days: int | None = None,
    now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new API token for a person: (the token, shown once; the row)."""
    now = now or utcnow()
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        raise NotFound(f"没有用户名为“{username}”的人员", code="person_not_found")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        person_id=person.id,
        name=name,
        token_hash=_digest(token),
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        "token.create",
        actor=username,
        subject=f"person:{username}",
        payload={"token_id": row.id, "name": name},
    )
    return token, row


def revoke_token(
    session: Session, token_id: int, *, actor: str, now: datetime | None = None
) -> None:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"没有编号为 {token_id} 的令牌", code="token_not_found")
    row.revoked_at = now or utcnow()
    audit.record(session, "token.revoke", actor=actor, subject=f"token:{token_id}")


def token_principal(session: Session, bearer: str, *, now: datetime | None = None) -> Principal:
    now = now or utcnow()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(bearer)))
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise Unauthenticated("令牌无效、已撤销或已过期", code="bad_token")
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return Principal(row.person.id, row.person.username, row.person.name, "token", None)


def csrf_ok(principal: Principal, presented: str | None) -> bool:
    """Token requests need no CSRF token (no cookie rides along); sessions must echo theirs."""
    if principal.via == "token":
        return True
    if not presented or principal.csrf_token is None:
        return False
    return hmac.compare_digest(presented, principal.csrf_token)


def login_csrf_token(cookie: str | None) -> str:
    """The sign-in form's token: the browser's current one, or a new one."""
    return cookie if cookie and len(cookie) >= 32 else secrets.token_urlsafe(32)


def login_csrf_ok(cookie: str | None, presented: str | None) -> bool:
    if not cookie or not presented:
        return False
    return hmac.compare_digest(cookie, presented)
