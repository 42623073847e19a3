"""From sign-off to scheduled rows, and from due rows to the queue. Every move is a CAS
(services.moves)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from orchestrator import attest, audit
from orchestrator.db import Database, retry_on_disconnect
from orchestrator.models import Publication, Submission, Version
from orchestrator.services.moves import move, record_move, recorded_move, retime_scheduled
from orchestrator.states import State
from orchestrator.wakeup import due_changed
from orchestrator.workdays import working_days_after

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The moves live in services.moves; their old path here keeps working.
__all__ = [
    "HELD_NOTE",
    "SHANGHAI",
    "DueRound",
    "cancel_superseded",
    "claim_due",
    "claim_due_retrying",
    "claim_rows",
    "create_publications",
    "due_round",
    "due_rows",
    "move",
    "publication_origin_problem",
    "record_move",
    "recorded_move",
    "retime_scheduled",
    "scheduled_time",
    "stale_queued",
    "upward_first",
]


# --- creating publications ------------------------------------------------------------------


def scheduled_time(publish_date: date, default_time: str, now: datetime) -> datetime:
    hour, minute = (int(x) for x in default_time.split(":"))
    local = datetime(
        publish_date.year, publish_date.month, publish_date.day, hour, minute, tzinfo=SHANGHAI
    )
    return max(local.astimezone(UTC), now)


LATE_AFTER = timedelta(minutes=1)  # a row claimed later than this after its time is flagged late
HELD_NOTE = "待上级平台采用后转载；逾期未采用由综合科决定放行或撤下"


def upward_first(channels: Iterable[str]) -> frozenset[str]:
    """The own-platform rows of an item that is also reported upward: held until an upward
    platform adopts it (then reposted) or 综合科 releases them (the seed, §三(二): upward first,
    then the office's platforms repost)."""
    from channels.base import ChannelKind
    from channels.registry import load_channels

    kinds = {name: cls.kind for name, cls in load_channels().items()}
    wanted = list(channels)
    if not any(kinds.get(c) is ChannelKind.UPWARD for c in wanted):
        return frozenset()
    return frozenset(c for c in wanted if kinds.get(c) is ChannelKind.OWN)


def create_publications(
    session: Session,
    version: Version,
    *,
    default_time: str,
    now: datetime,
    actor: str,
    hold_days: int = 3,
) -> list[Publication]:
    """One publication per requested channel, scheduled at its date (the 审批表 rows); the own
    rows of an item also going upward are held (`upward_first`)."""
    created = []
    held = upward_first(row.channel for row in version.channels)
    if version.submission.repost_origin_id is not None or version.repost_platform:
        held = frozenset()  # a repost is what the held rows wait for
    for row in version.channels:
        pub = Publication(
            submission_id=version.submission_id,
            version=version,
            channel=row.channel,
            state=(State.HELD if row.channel in held else State.SCHEDULED).value,
            hold_until=working_days_after(now, hold_days) if row.channel in held else None,
            note="待上级平台采用后转载；逾期由综合科决定放行或撤下"
            if row.channel in held
            else None,
            idempotency_key=f"ss-{uuid.uuid4().hex}",
            scheduled_at=scheduled_time(row.publish_date, default_time, now),
            source_platform=version.repost_platform,
            source_url=version.repost_url,
            state_changed_at=now,
            created_at=now,
        )
        session.add(pub)
        created.append(pub)
    session.flush()
    if any(pub.state == State.SCHEDULED.value for pub in created):
        due_changed(session)
    for pub in created:
        audit.record(
            session,
            "publication.create",
            actor=actor,
            subject=f"publication:{pub.id}",
            payload={
                "channel": pub.channel,
                "scheduled_at": pub.scheduled_at,
                "version": version.number,
                "fingerprint": version.fingerprint,
                "row": attest.claim(pub),
            },
            at=now,
        )
    return created


def cancel_superseded(
    session: Session, submission: Submission, *, now: datetime, actor: str
) -> None:
    """A new version stops what an older version had waiting: it was not what was approved."""
    for pub in session.scalars(
        select(Publication).where(
            Publication.submission_id == submission.id,
            Publication.state.in_(
                [State.HELD.value, State.SCHEDULED.value, State.QUEUED.value, State.MANUAL.value]
            ),
        )
    ):
        recorded_move(
            session,
            pub.id,
            (State(pub.state),),
            State.CANCELLED,
            now=now,
            action="publication.cancel",
            actor=actor,
            payload={"reason": "superseded"},
            note="稿件已修改，旧版本的发布已取消",
        )


def publication_origin_problem(session: Session, pub: Publication) -> str | None:
    """Why this row must not be sent, or None: it was created by a sign-off (its
    `publication.create` event is in the chain), its bound columns match the latest digest the
    chain holds, and its state was reached through recorded or quiet moves. One query, on the
    indexed audit_events.subject; for the send path, right before the send."""
    problem = attest.row_problem(session, attest.PUBLICATIONS, pub)
    if problem is None:
        return None
    if problem.fault in (attest.Fault.NOT_CREATED, attest.Fault.UNATTESTED):
        return "发布记录不是由签发生成的（审计链中没有其创建记录）"
    return f"发布记录在签发后被改动：{problem.message}"


# --- the scheduler --------------------------------------------------------------------------


def claim_due(
    session: Session,
    *,
    now: datetime,
    per_channel: int = 20,
    late_after: timedelta = LATE_AFTER,
) -> list[tuple[int, str]]:
    """Move due rows scheduled → queued, oldest first; two schedulers never claim one row.

    A channel never has more than `per_channel` rows queued: the rest wait in the database,
    where they can still be moved or cancelled, instead of piling up in the broker.
    Returns (id, channel) in schedule order. A row claimed well after its time is flagged late.
    """
    picked, _backlog = due_rows(session, now=now, per_channel=per_channel)
    return claim_rows(session, picked, now, late_after)


def due_rows(
    session: Session, *, now: datetime, per_channel: int
) -> tuple[list[tuple[int, str]], bool]:
    """The due rows there is room for, oldest first in each channel, and whether due rows are
    left waiting for room. Per channel with room, one indexed query (channel, state,
    scheduled_at) limited to that room (and one row more, to tell a backlog): a round reads what
    it can claim, never the backlog behind it. On PostgreSQL the rows are locked (SKIP LOCKED):
    a second scheduler passes over them without waiting."""
    queued = dict(
        session.execute(
            select(Publication.channel, func.count())
            .where(Publication.state == State.QUEUED.value)
            .group_by(Publication.channel)
        ).all()
    )
    postgresql = session.get_bind().dialect.name == "postgresql"
    picked: list[tuple[datetime, int, str]] = []
    backlog = False
    for channel in _channels(session):
        room = max(0, per_channel - queued.get(channel, 0))
        query = (
            select(Publication.scheduled_at, Publication.id)
            .where(
                Publication.channel == channel,
                Publication.state == State.SCHEDULED.value,
                Publication.scheduled_at <= now,
            )
            .order_by(Publication.scheduled_at, Publication.id)
            .limit(room + 1)
        )
        if postgresql and room:
            query = query.with_for_update(skip_locked=True)
        found = session.execute(query).all()
        backlog = backlog or len(found) > room
        picked.extend((at, pub_id, channel) for at, pub_id in found[:room])
    return [(pub_id, channel) for _at, pub_id, channel in sorted(picked)], backlog


def _channels(session: Session) -> list[str]:
    """The channels that have rows, by a loose index scan in one statement (a recursive query:
    one seek on ix_publications_board per channel, however many rows each holds)."""
    first = select(func.min(Publication.channel).label("channel")).cte("channels", recursive=True)
    after = (
        select(func.min(Publication.channel))
        .where(Publication.channel > first.c.channel)
        .scalar_subquery()
    )
    found = first.union_all(select(after).where(first.c.channel.is_not(None)))
    return [c for c in session.scalars(select(found.c.channel)) if c is not None]


def claim_rows(
    session: Session, picked: list[tuple[int, str]], now: datetime, late_after: timedelta
) -> list[tuple[int, str]]:
    """scheduled → queued for the `picked` rows still scheduled (a compare-and-set)."""
    if not picked:
        return []
    claimed = set(
        session.scalars(
            update(Publication)
            .where(
                Publication.id.in_([pub_id for pub_id, _ in picked]),
                Publication.state == State.SCHEDULED.value,
            )
            .values(
                state=State.QUEUED.value,
                revision=Publication.revision + 1,
                state_changed_at=now,
                late=case(
                    (Publication.scheduled_at < now - late_after, True), else_=Publication.late
                ),
            )
            .returning(Publication.id)
            .execution_options(synchronize_session=False)
        )
    )
    return [(pub_id, channel) for pub_id, channel in picked if pub_id in claimed]


@dataclass(frozen=True)
class DueRound:
    """What a scheduler round claimed, and when the next one is due: the next scheduled time
    still to come, or None when nothing is scheduled ahead. `backlog`: due rows are left that
    their channels had no room for (a worker taking a queued row makes room and wakes us)."""

    claimed: list[tuple[int, str]]
    next_due: datetime | None
    backlog: bool


def claim_due_retrying(
    db: Database,
    *,
    per_channel: int = 20,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[tuple[int, str]]:
    """`claim_due` in a unit of work of its own, run again (a bounded number of times) when the
    database connection is lost. Safe to repeat: a claim that did commit before the connection
    broke left its rows queued, so the next try cannot claim them again, and `stale_queued`
    enqueues them once they have waited too long."""
    return due_round(db, per_channel=per_channel, clock=clock).claimed


def due_round(
    db: Database,
    *,
    per_channel: int = 20,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DueRound:
    """One scheduler round (`claim_due_retrying`), and when the next is due. On SQLite the due
    rows are found in a read transaction and the write lock is taken only when there is
    something to claim (the compare-and-set keeps two schedulers from claiming one row); on a
    server database the rows are found and claimed under their locks in one transaction."""
    sqlite = db.engine.dialect.name == "sqlite"

    def once() -> DueRound:
        now = clock()
        claimed: list[tuple[int, str]] = []
        if sqlite:
            with db.read() as session:
                picked, backlog = due_rows(session, now=now, per_channel=per_channel)
                next_due = _next_due(session, now)
            if picked:
                with db.session(durable=False) as session:
                    claimed = claim_rows(session, picked, now, LATE_AFTER)
        else:
            with db.session(durable=False) as session:
                picked, backlog = due_rows(session, now=now, per_channel=per_channel)
                claimed = claim_rows(session, picked, now, LATE_AFTER)
                next_due = _next_due(session, now)
        return DueRound(claimed, next_due, backlog)

    return retry_on_disconnect(once)


def _next_due(session: Session, now: datetime) -> datetime | None:
    """The next scheduled time after `now`: one seek on ix_publications_due."""
    return session.scalar(
        select(func.min(Publication.scheduled_at)).where(
            Publication.state == State.SCHEDULED.value, Publication.scheduled_at > now
        )
    )


def stale_queued(
    session: Session, *, now: datetime, older_than: timedelta, limit: int = 500
) -> list[tuple[int, str]]:
    """Queued rows whose task may have been lost (scheduler died before enqueueing, broker
    lost its data): touched and returned to be enqueued again. A duplicate task is harmless:
    only one of them can move the row queued → sending."""
    rows = session.execute(
        select(Publication.id, Publication.channel)
        .where(
            Publication.state == State.QUEUED.value, Publication.state_changed_at < now - older_than
        )
        .order_by(Publication.scheduled_at)
        .limit(limit)
    ).all()
    for pub_id, _channel in rows:
        session.execute(
            update(Publication)
            .where(Publication.id == pub_id, Publication.state == State.QUEUED.value)
            .values(state_changed_at=now)
            .execution_options(synchronize_session=False)
        )
    return [(pub_id, channel) for pub_id, channel in rows]
