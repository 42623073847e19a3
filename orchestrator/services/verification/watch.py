"""巡检: the watch over live pages. A live row is checked every `verify_first_day_every` in its
first day, then every `verify_every`; a page that cannot be reached is asked again after
`verify_retry_after`; a retracted row until its page is seen gone. Due rows are claimed with a
lease, and checked a few hosts at a time."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from orchestrator.app import App
from orchestrator.models import Publication
from orchestrator.services.hub import ChannelHub
from orchestrator.services.verification.check import verify
from orchestrator.states import State
from orchestrator.verify import Verdict

log = logging.getLogger("sanshen.verify")

# Rows whose page is watched: live ones, and ones that should be gone until they are.
WATCHED = (State.PUBLISHED.value, State.TAKEDOWN.value, State.RETRACTED.value)
LEASE = timedelta(minutes=5)  # a claimed row is not claimed again by a round meanwhile


def due_condition(now: datetime) -> Any:
    """Rows whose page is to be checked now: a set time that has come, a live row never checked,
    a retracted row not yet seen gone since it was retracted."""
    never_checked = and_(
        Publication.state == State.PUBLISHED.value,
        Publication.url.is_not(None),
        Publication.verified_at.is_(None),
        Publication.next_verify_at.is_(None),
    )
    retracted_unseen = and_(
        Publication.state == State.RETRACTED.value,
        Publication.url.is_not(None),
        or_(Publication.next_verify_at.is_(None), Publication.next_verify_at <= now),  # a lease
        or_(
            Publication.verified_at.is_(None),
            Publication.verified_at < Publication.state_changed_at,
        ),
        or_(Publication.verdict.is_(None), Publication.verdict != Verdict.REMOVED.value),
    )
    return and_(
        Publication.state.in_(WATCHED),
        Publication.url.is_not(None),
        or_(Publication.next_verify_at <= now, never_checked, retracted_unseen),
    )


def claim(session: Session, *, now: datetime, limit: int) -> list[tuple[int, str]]:
    """Up to `limit` due rows, longest-waiting first, leased so another round skips them. The
    lease is a compare-and-set: a row another round leased in between is not taken twice."""
    candidates = session.scalars(
        select(Publication.id)
        .where(due_condition(now))
        .order_by(
            Publication.next_verify_at.is_not(None), Publication.next_verify_at, Publication.id
        )
        .limit(limit)
    ).all()
    if not candidates:
        return []
    leased = session.execute(
        update(Publication)
        .where(Publication.id.in_(candidates), due_condition(now))
        .values(next_verify_at=now + LEASE)
        .returning(Publication.id, Publication.url)
        .execution_options(synchronize_session=False)
    ).all()
    order = {pub_id: i for i, pub_id in enumerate(candidates)}
    return sorted(((pub_id, url or "") for pub_id, url in leased), key=lambda r: order[r[0]])


class HostLimiter:
    """At most `per_host` pages of one host at a time, and starts on one host at least `gap`
    seconds apart: the watch is a polite visitor."""

    def __init__(self, per_host: int, gap: float) -> None:
        self.per_host, self.gap = per_host, gap
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = defaultdict(
            lambda: threading.Semaphore(per_host)
        )
        self._last: dict[str, float] = {}

    @contextmanager
    def visit(self, url: str) -> Iterator[None]:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            slot = self._slots[host]
        with slot:
            with self._lock:
                start = max(time.monotonic(), self._last.get(host, 0.0) + self.gap)
                self._last[host] = start
            time.sleep(max(0.0, start - time.monotonic()))
            yield


def watch_round(app: App, hub: ChannelHub, *, now: datetime | None = None) -> dict[str, int]:
    """Check every due row (up to `verify_batch`); one bad page never stops the round."""
    now = now or datetime.now(UTC)
    s = app.settings
    with app.db.session() as session:
        rows = claim(session, now=now, limit=s.verify_batch)
    if not rows:
        return {}
    limiter = HostLimiter(s.verify_per_host, 1.0 / s.verify_host_rate)
    counts: dict[str, int] = defaultdict(int)

    def one(pub_id: int, url: str) -> str:
        try:
            with limiter.visit(url):
                return verify(app, hub, pub_id, trigger="watch").verdict.value
        except Exception:
            log.exception("发布 %s 的页面核验出错；下一轮再试", pub_id)
            _later(app, pub_id, now + timedelta(seconds=s.verify_retry_after))
            return "error"

    with ThreadPoolExecutor(s.verify_concurrency, thread_name_prefix="sanshen-verify") as pool:
        for verdict in pool.map(lambda row: one(*row), rows):
            counts[verdict] += 1
    return dict(counts)


def _later(app: App, pub_id: int, when: datetime) -> None:
    with app.db.session() as session:
        session.execute(
            update(Publication)
            .where(Publication.id == pub_id)
            .values(next_verify_at=when)
            .execution_options(synchronize_session=False)
        )
