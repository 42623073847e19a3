"""Delivery: claiming due rows under a lease, sending each outside any transaction, recording
the outcome with backoff; the daily digests; and a whole round (`run_once`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from orchestrator.app import App
from orchestrator.models import Notification
from orchestrator.services.notifications.messages import BATCH, SHANGHAI
from orchestrator.services.notifications.routes import Route, routes_from, send
from orchestrator.services.notifications.rows import scan
from orchestrator.settings import Settings

log = logging.getLogger("sanshen.notify")
LEASE = timedelta(seconds=120)
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)


def _claim(session: Session, ids: Sequence[int], state: str, now: datetime) -> list[int]:
    claimed = []
    for row_id in ids:
        done = session.execute(
            update(Notification)
            .where(
                Notification.id == row_id,
                Notification.state == state,
                or_(Notification.next_try_at.is_(None), Notification.next_try_at <= now),
            )
            .values(next_try_at=now + LEASE)
        )
        if done.rowcount:  # type: ignore[attr-defined]
            claimed.append(row_id)
    return claimed


def _record(
    session: Session,
    row: Notification,
    via: str,
    error: str | None,
    permanent: bool,
    now: datetime,
    max_attempts: int,
) -> str:
    row.attempts += 1
    if error is None:
        row.state, row.sent_at, row.via, row.last_error, row.next_try_at = (
            "sent",
            now,
            via,
            None,
            None,
        )
    elif permanent or row.attempts >= max_attempts:
        row.state, row.last_error, row.next_try_at = "failed", error, None
    else:
        delay = min(RETRY_BASE * 2 ** (row.attempts - 1), RETRY_MAX)
        row.state, row.last_error, row.next_try_at = "pending", error, now + delay
    return row.state


def deliver_due(app: App, *, now: datetime, routes: dict[str, Route]) -> dict[str, int]:
    counts = {"sent": 0, "pending": 0, "failed": 0, "digests": 0}
    with app.db.session() as session:
        due = list(
            session.scalars(
                select(Notification.id)
                .where(
                    Notification.state == "pending",
                    or_(Notification.next_try_at.is_(None), Notification.next_try_at <= now),
                )
                .order_by(Notification.id)
                .limit(BATCH)
            )
        )
        claimed = _claim(session, due, "pending", now)
    for row_id in claimed:  # sent outside any transaction: a slow platform holds no lock
        with app.db.session() as session:
            row = session.get(Notification, row_id)
            assert row is not None
            person, title, body = row.person, row.title, row.body
            url = app.settings.public_url.rstrip("/") + row.link
        via, error, permanent = send(person, title, body, url, routes)
        if error:
            log.warning("notification %s not delivered: %s", row_id, error)
        with app.db.session() as session:
            row = session.get(Notification, row_id)
            assert row is not None
            counts[
                _record(session, row, via, error, permanent, now, app.settings.notify_max_attempts)
            ] += 1
    counts["digests"] = _digests(app, now=now, routes=routes)
    return counts


def digest_moment(settings: Settings, now: datetime) -> datetime:
    """Today's digest time (Shanghai) in UTC."""
    hour, minute = (int(x) for x in settings.notify_digest_at.split(":"))
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date(), time(hour, minute), SHANGHAI).astimezone(UTC)


def _digests(app: App, *, now: datetime, routes: dict[str, Route]) -> int:
    """At the digest time, each person's waiting rows (made before it) as one message."""
    cut = digest_moment(app.settings, now)
    if now < cut:
        return 0
    with app.db.session() as session:
        rows = session.execute(
            select(Notification.id, Notification.person_id).where(
                Notification.state == "digest", Notification.created_at <= cut
            )
        ).all()
        by_person: dict[int, list[int]] = {}
        for row_id, person_id in rows:
            by_person.setdefault(person_id, []).append(row_id)
    sent = 0
    for ids in by_person.values():
        with app.db.session() as session:
            claimed = _claim(session, ids, "digest", now)
        if not claimed:
            continue
        with app.db.session() as session:
            items = [session.get(Notification, i) for i in claimed]
            person = items[0].person  # type: ignore[union-attr]
            lines = [
                f"· {n.title}（{app.settings.public_url.rstrip('/')}{n.link}）" for n in items if n
            ]
            title = f"三审发布每日汇总：{len(lines)} 条待您处理"
            url = app.settings.public_url.rstrip("/") + "/todo"
        via, error, permanent = send(person, title, "\n".join(lines), url, routes)
        with app.db.session() as session:
            for row_id in claimed:
                row = session.get(Notification, row_id)
                assert row is not None
                if error is None:
                    row.state, row.sent_at, row.via = "sent", now, via
                else:
                    row.attempts += 1
                    row.last_error = error
                    row.state = "failed" if permanent else "digest"
                    row.next_try_at = None if permanent else now + RETRY_BASE
        sent += error is None
    return sent


def run_once(
    app: App, *, now: datetime | None = None, routes: dict[str, Route] | None = None
) -> dict[str, int]:
    """One round: scan (committed first), then deliver what is due."""
    now = now or datetime.now(UTC)
    with app.db.session() as session:
        created = scan(session, app, now=now)
    routes = routes if routes is not None else routes_from(app.settings)
    return {"created": len(created)} | deliver_due(app, now=now, routes=routes)
