"""发布核验 and 巡检: the live page of a publication compared with the version that was signed.

verify(app, hub, pub_id, trigger=...)   check one page now; store the evidence; act on it
due(session, now=..., limit=...)        the rows whose check has come, claimed with a lease
watch_round(app, hub)                   check every due row, a few hosts at a time

Each check is a `Verification` row (verdict, reason, the page's SHA-256, its gzip snapshot as a
blob, the diff) with an audit event; the row's last verdict is kept on the publication for the
board. What follows from a verdict:
- 一致 the first time: the snapshot joins the 审批表 in the archive (the evidence of what went
  live, surviving the page);
- 不一致, or 已删除 on a live row: an alert (once per distinct page or verdict);
- 已删除 on a row waiting to be taken down (待人工撤下): the row becomes 已撤稿; on a retracted
  row: the watch stops;
- a retracted row whose page is still there: an alert, and it is checked again.
The watch looks at a live row every `verify_first_day_every` in its first day, then every
`verify_every`; a page that cannot be reached is asked again after `verify_retry_after`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from orchestrator import attest, audit
from orchestrator.app import App
from orchestrator.errors import Conflict
from orchestrator.models import Alert, ArchiveEntry, Publication, Verification
from orchestrator.permissions import require
from orchestrator.render import render
from orchestrator.services import alerts
from orchestrator.services.dispatch import move, record_move
from orchestrator.services.hub import ChannelHub
from orchestrator.services.publishing import get_publication
from orchestrator.states import State
from orchestrator.verify import Limits, Outcome, Signed, Verdict

log = logging.getLogger("sanshen.verify")

TRIGGER_LABELS = {
    "published": "发布后核验",
    "watch": "巡检",
    "manual": "人工核验",
    "takedown": "撤下核验",
}
# Rows whose page is watched: live ones, and ones that should be gone until they are.
WATCHED = (State.PUBLISHED.value, State.TAKEDOWN.value, State.RETRACTED.value)
LEASE = timedelta(minutes=5)  # a claimed row is not claimed again by a round meanwhile


@dataclass(frozen=True)
class Checked:
    """What one check found, for the CLI, the API and the console."""

    publication_id: int
    verification_id: int
    verdict: Verdict
    code: str
    reason: str
    state: str
    diff_html: str
    diff: tuple[tuple[str, str], ...] = ()  # (equal|insert|delete, text), signed -> live

    def as_dict(self) -> dict[str, Any]:
        return {
            "publication_id": self.publication_id,
            "verification_id": self.verification_id,
            "verdict": self.verdict.value,
            "verdict_label": self.verdict.label,
            "code": self.code,
            "reason": self.reason,
            "state": self.state,
            "diff": [list(segment) for segment in self.diff],
        }


def limits_of(app: App) -> Limits:
    s = app.settings
    return Limits(read_timeout=s.verify_read_timeout, max_bytes=s.verify_max_bytes)


def signed_of(app: App, pub: Publication) -> Signed:
    """What was signed for this row, as the channel was given it (a repost's 来源 line too)."""
    item = render(pub.version, pub.channel, reference=f"P{pub.id}", store=app.blobs)
    return Signed(
        title=item.title,
        body_html=item.body_html,
        images={image.sha256: image.data for image in item.images},
    )


def verify(
    app: App,
    hub: ChannelHub,
    pub_id: int,
    *,
    trigger: str,
    actor: str = "",
    now: datetime | None = None,
) -> Checked:
    """Fetch the row's public page and compare it with the signed version; never raises for
    what the page or the network does (that is a verdict), only for a row with no page."""
    with app.db.read() as session:
        pub = get_publication(session, pub_id)
        if not pub.url:
            raise Conflict(
                f"发布 {pub_id} 还没有公开链接（当前为“{State(pub.state).label}”），无法核验",
                code="no_public_url",
            )
        url, channel = pub.url, pub.channel
        signed = signed_of(app, pub)
    from orchestrator.verify.check import check  # its libraries load when a page is checked

    outcome = check(url, signed, allowed_hosts=hub.page_hosts(channel), limits=limits_of(app))
    return record(app, pub_id, outcome, trigger=trigger, actor=actor, now=now)


def verify_as(app: App, hub: ChannelHub, pub_ids: list[int], *, actor: str) -> list[Checked]:
    """发布核验 asked for by a person (console, API, CLI): their role for each row's channel is
    checked first, for every row, before any page is fetched."""
    now = datetime.now(UTC)
    with app.db.read() as session:
        for pub_id in pub_ids:
            pub = get_publication(session, pub_id)
            require(session, actor, "verify", hub.classes[pub.channel].kind, now)
    return [verify(app, hub, pub_id, trigger="manual", actor=actor) for pub_id in pub_ids]


def record(
    app: App,
    pub_id: int,
    outcome: Outcome,
    *,
    trigger: str,
    actor: str = "",
    now: datetime | None = None,
) -> Checked:
    """Store one check's evidence and act on its verdict, in one transaction."""
    now = now or datetime.now(UTC)
    with app.db.session() as session:
        pub = get_publication(session, pub_id)
        snapshot = app.blobs.put(session, outcome.snapshot).sha256 if outcome.snapshot else None
        row = Verification(
            publication_id=pub_id,
            checked_at=now,
            trigger=trigger,
            actor=actor,
            url=outcome.url,
            final_url=outcome.final_url,
            verdict=outcome.verdict.value,
            code=outcome.code,
            reason=outcome.reason,
            http_status=outcome.http_status,
            page_sha256=outcome.page_sha256,
            snapshot_sha256=snapshot,
            similarity=round(outcome.similarity, 4),
            diff={"segments": [list(segment) for segment in outcome.diff]},
            images=_images(outcome),
            duration_ms=outcome.duration_ms,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            "publication.verify",
            actor=actor,
            subject=f"publication:{pub_id}",
            payload={
                "row": attest.claim(row),
                "verdict": outcome.verdict.value,
                "code": outcome.code,
                "trigger": trigger,
            },
            at=now,
        )
        state = _act(app, session, pub, row, outcome, now)
        return Checked(
            pub_id,
            row.id,
            outcome.verdict,
            outcome.code,
            outcome.reason,
            state,
            outcome.diff_html(),
            outcome.diff,
        )


def _images(outcome: Outcome) -> dict[str, Any]:
    report = outcome.images
    return {
        "expected": report.expected,
        "found": report.found,
        "compared": report.compared,
        "mismatched": list(report.mismatched),
        "foreign": list(report.foreign),
        "unfetchable": [list(item) for item in report.unfetchable],
    }


def _act(
    app: App,
    session: Session,
    pub: Publication,
    row: Verification,
    outcome: Outcome,
    now: datetime,
) -> str:
    verdict, state = outcome.verdict, State(pub.state)
    # One alert per episode, not per check: a page that counts its views changes every time
    previous = pub.verdict
    first_since_move = pub.verified_at is None or pub.verified_at < pub.state_changed_at
    next_at = _next_check(app, pub, verdict, now)
    if row.trigger == "published" and verdict is Verdict.REMOVED:
        # a page recorded a moment ago may not be served yet (static publishing, a CDN)
        next_at = now + timedelta(seconds=app.settings.verify_retry_after)
    gone = verdict is Verdict.REMOVED or (
        state in (State.TAKEDOWN, State.RETRACTED) and no_longer_there(outcome)
    )
    if state is State.TAKEDOWN and gone:
        if move(session, pub.id, (State.TAKEDOWN,), State.RETRACTED, now=now):
            record_move(
                session,
                pub.id,
                "publication.taken_down",
                State.RETRACTED,
                payload={"verification": row.id, "code": outcome.code},
                at=now,
            )
            state = State.RETRACTED
        next_at = None
    elif state is State.RETRACTED and gone:
        next_at = None
    # only while the row is in the state this check judged (a retract in between wins)
    session.execute(
        update(Publication)
        .where(Publication.id == pub.id, Publication.state == state.value)
        .values(verdict=verdict.value, verified_at=now, next_verify_at=next_at)
        .execution_options(synchronize_session=False)
    )
    if verdict is Verdict.CONSISTENT and state is State.PUBLISHED:
        _archive_first(app, session, pub, row, outcome, now)
    bad_live = verdict is Verdict.MISMATCH or (
        verdict is Verdict.REMOVED and row.trigger != "published"
    )
    if state is State.PUBLISHED and bad_live and _starts_episode(session, row, previous):
        _alert(session, pub, row, outcome, now, kind="live_" + verdict.value)
    elif (
        state is State.PUBLISHED
        and verdict is Verdict.UNREACHABLE
        and _unreachable_run(session, pub.id) == UNREACHABLE_ALERT_AFTER
    ):
        _alert(session, pub, row, outcome, now, kind="live_unreachable")
    elif (
        state is State.RETRACTED
        and not gone
        and verdict in (Verdict.CONSISTENT, Verdict.MISMATCH)
        and (first_since_move or previous not in (Verdict.CONSISTENT, Verdict.MISMATCH))
    ):
        _alert(session, pub, row, outcome, now, kind="still_live")
    return state.value


def _starts_episode(session: Session, row: Verification, previous: str | None) -> bool:
    """This check's finding is new: another verdict before it, or the same 已删除 found right
    after recording (not alerted then: a page may take a moment to be served)."""
    if previous != row.verdict:
        return True
    prior = session.scalar(
        select(Verification.trigger)
        .where(Verification.publication_id == row.publication_id, Verification.id < row.id)
        .order_by(Verification.id.desc())
        .limit(1)
    )
    return row.verdict == Verdict.REMOVED.value and prior == "published"


def no_longer_there(outcome: Outcome) -> bool:
    """A page that answers but no longer holds the article: many platforms show a deleted
    article as a 200 notice (WeChat: 该内容已被发布者删除) or send it to their home page. The
    signed title is not on it and next to nothing of the signed text is."""
    return (
        outcome.verdict is Verdict.MISMATCH
        and outcome.code == "title_changed"
        and outcome.similarity < SOFT_GONE_SIMILARITY
    )


SOFT_GONE_SIMILARITY = 0.3

# A page that cannot be fetched this many checks in a row (after retries) tells a person.
UNREACHABLE_ALERT_AFTER = 3


def _unreachable_run(session: Session, pub_id: int) -> int:
    """How many of the row's latest checks, this one included, found the page unreachable."""
    latest = session.scalars(
        select(Verification.verdict)
        .where(Verification.publication_id == pub_id)
        .order_by(Verification.id.desc())
        .limit(UNREACHABLE_ALERT_AFTER + 1)
    ).all()
    run = 0
    for verdict in latest:
        if verdict != Verdict.UNREACHABLE.value:
            break
        run += 1
    return run


def _next_check(app: App, pub: Publication, verdict: Verdict, now: datetime) -> datetime | None:
    s = app.settings
    state = State(pub.state)
    if state in (State.TAKEDOWN, State.RETRACTED):
        if verdict is Verdict.REMOVED:
            return None  # gone: no longer watched
        return now + timedelta(seconds=s.takedown_check_interval)
    if state is not State.PUBLISHED:
        return None
    if verdict is Verdict.UNREACHABLE:
        return now + timedelta(seconds=s.verify_retry_after)
    since = pub.published_at or pub.state_changed_at
    first_day = since is not None and now - since < timedelta(days=1)
    every = s.verify_first_day_every if first_day else s.verify_every
    return now + timedelta(seconds=every)


def _archive_first(
    app: App,
    session: Session,
    pub: Publication,
    row: Verification,
    outcome: Outcome,
    now: datetime,
) -> None:
    """The first 一致 snapshot of a row joins its 审批表 in the archive."""
    from orchestrator.reports import archive

    name = f"核验快照-稿件{pub.submission_id}-发布{pub.id}-{pub.channel}.html.gz"
    kept = session.scalar(
        select(ArchiveEntry.id).where(
            ArchiveEntry.kind == "live_snapshot", ArchiveEntry.name == name
        )
    )
    if kept is None and outcome.snapshot:
        archive.store(
            session,
            app,
            kind="live_snapshot",
            name=name,
            data=outcome.snapshot,
            mime="application/gzip",
            submission_id=pub.submission_id,
            version_id=pub.version_id,
            actor=f"verification:{row.id}",
        )


ALERT_WORDS = {
    "live_mismatch": "线上页面与签发版本不一致",
    "live_removed": "线上页面已被删除",
    "still_live": "已撤稿的页面仍可访问",
    "live_unreachable": "线上页面连续多次无法访问",
}


def _alert(
    session: Session,
    pub: Publication,
    row: Verification,
    outcome: Outcome,
    now: datetime,
    *,
    kind: str,
) -> None:
    """An alert for this check's finding; the callers decide that it starts an episode (the
    verdict changed, or the first check since a retract), so a page found altered round after
    round alerts once."""
    title = pub.version.title
    where = f"《{title}》（{alerts.channel_label(pub.channel)}）"
    message = f"{where}{ALERT_WORDS[kind]}：{outcome.reason}（{outcome.url}）"
    key = f"{kind}:{pub.id}:{row.id}"  # the callers alert once per episode
    alerts.insert_once(
        session,
        Alert(dedup_key=key, kind=kind, publication_id=pub.id, message=message, created_at=now),
    )


# --- the watch --------------------------------------------------------------------------------


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


def history(session: Session, pub_id: int, limit: int = 50) -> list[Verification]:
    """The row's checks, newest first."""
    return list(
        session.scalars(
            select(Verification)
            .where(Verification.publication_id == pub_id)
            .order_by(Verification.checked_at.desc(), Verification.id.desc())
            .limit(limit)
        )
    )
