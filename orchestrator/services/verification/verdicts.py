"""What follows from a 发布核验 verdict, in the check's transaction:
- 一致 the first time: the snapshot joins the 审批表 in the archive (the evidence of what went
  live, surviving the page);
- 不一致, or 已删除 on a live row: an alert (once per distinct page or verdict);
- 已删除 on a row waiting to be taken down (待人工撤下): the row becomes 已撤稿; on a retracted
  row: the watch stops;
- a retracted row whose page is still there: an alert, and it is checked again;
- a live page that cannot be reached several checks in a row: an alert.
The row's last verdict and its next check are kept on the publication for the board.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orchestrator.app import App
from orchestrator.documents import archive
from orchestrator.models import Alert, ArchiveEntry, Publication, Verification
from orchestrator.services import alerts
from orchestrator.services.dispatch import move, record_move
from orchestrator.states import State
from orchestrator.verify import Outcome, Verdict


@dataclass(frozen=True)
class Finding:
    """One check to act on: the publication row, the check's evidence row and its outcome."""

    session: Session
    pub: Publication
    row: Verification
    outcome: Outcome
    now: datetime


def act(
    app: App,
    session: Session,
    pub: Publication,
    row: Verification,
    outcome: Outcome,
    now: datetime,
) -> str:
    """Act on one check's verdict (see the module's docstring); the row's state after it."""
    found = Finding(session, pub, row, outcome, now)
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
        _archive_first(app, found)
    kind = _alert_kind(found, state, gone, previous, first_since_move)
    if kind:
        _alert(found, kind)
    return state.value


def _alert_kind(
    found: Finding, state: State, gone: bool, previous: str | None, first_since_move: bool
) -> str:
    """The alert this check's finding calls for, "" when none: a live page altered or deleted
    (once an episode), a live page unreachable check after check, a retracted page still up."""
    verdict, row = found.outcome.verdict, found.row
    bad_live = verdict is Verdict.MISMATCH or (
        verdict is Verdict.REMOVED and row.trigger != "published"
    )
    if state is State.PUBLISHED and bad_live and _starts_episode(found.session, row, previous):
        return "live_" + verdict.value
    if (
        state is State.PUBLISHED
        and verdict is Verdict.UNREACHABLE
        and _unreachable_run(found.session, found.pub.id) == UNREACHABLE_ALERT_AFTER
    ):
        return "live_unreachable"
    if (
        state is State.RETRACTED
        and not gone
        and verdict in (Verdict.CONSISTENT, Verdict.MISMATCH)
        and (first_since_move or previous not in (Verdict.CONSISTENT, Verdict.MISMATCH))
    ):
        return "still_live"
    return ""


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


def _archive_first(app: App, found: Finding) -> None:
    """The first 一致 snapshot of a row joins its 审批表 in the archive."""
    session, pub, row, outcome = found.session, found.pub, found.row, found.outcome
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


def _alert(found: Finding, kind: str) -> None:
    """An alert for this check's finding; the callers decide that it starts an episode (the
    verdict changed, or the first check since a retract), so a page found altered round after
    round alerts once."""
    pub, outcome = found.pub, found.outcome
    title = pub.version.title
    where = f"《{title}》（{alerts.channel_label(pub.channel)}）"
    message = f"{where}{ALERT_WORDS[kind]}：{outcome.reason}（{outcome.url}）"
    key = f"{kind}:{pub.id}:{found.row.id}"  # the callers alert once per episode
    alerts.insert_once(
        found.session,
        Alert(
            dedup_key=key, kind=kind, publication_id=pub.id, message=message, created_at=found.now
        ),
    )
