"""转载: once an upward platform has published (采用) our item, the own platforms repost it with
the source kept. The repost is a new submission judged with its original (gate:
`ReviewRecord.original`): the original's approved content plus the source, it needs 签发 alone
(which checks the source's qualification); edited beyond that, every stage again.

Upward first (the seed, §三(二)): the own rows of an item also reported upward are held
(待上级采用) at sign-off; the first adoption drafts the one repost of the original, for the held
channels, and the held rows make way for it. A later adoption, on another platform, is recorded
but not reposted: one repost per original, unique in the database (`repost_origin_id`), so no
sequence of adoptions, retries or restarts puts one article twice on one platform. 综合科 may
make the repost cite another adoption instead (`cite`) until it begins to go out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import ChannelKind
from channels.registry import load_channels
from gate.model import ChannelRequest, RepostSource
from orchestrator import audit
from orchestrator.app import App
from orchestrator.errors import Conflict
from orchestrator.models import Publication, Submission, Version
from orchestrator.services import submissions
from orchestrator.services.moves import recorded_move
from orchestrator.states import State

SHANGHAI = ZoneInfo("Asia/Shanghai")


def own_channels() -> list[str]:
    return [name for name, cls in load_channels().items() if cls.kind is ChannelKind.OWN]


def draft_repost(
    session: Session,
    app: App,
    upward: Publication,
    *,
    actor: str,
    channels: list[str] | None = None,
    now: datetime | None = None,
) -> Submission:
    """The repost submission of the original that `upward` reported, drafted by the first
    adoption; a later adoption is recorded and answers the same repost. Its channels: those
    asked for, else the original's held rows, else every own platform."""
    now = now or datetime.now(UTC)
    existing = repost_of_original(session, upward.submission_id)
    if existing is not None:
        if existing.repost_of_id != upward.id:
            _record_later_adoption(session, existing, upward, actor=actor, now=now)
        return existing
    if upward.state != State.PUBLISHED.value or not upward.url or upward.published_at is None:
        raise Conflict(
            f"发布 {upward.id} 尚未被上级平台采用（无发布链接），不能转载", code="not_adopted"
        )
    version = upward.version
    held = held_rows(session, upward.submission_id)
    chosen = channels or [p.channel for p in held] or own_channels()
    today = now.astimezone(SHANGHAI).date()
    rows = [ChannelRequest(c, today, "转载") for c in chosen]
    draft = _repost_draft(app, version, rows, upward)
    author = version.submission.author.username if actor == "system" else actor
    repost = submissions.create(
        session,
        app.blobs,
        author=author,
        department=version.submission.department.code,
        draft=draft,
        now=now,
        check_role=actor != "system",
    )
    repost.repost_of_id = upward.id
    repost.repost_origin_id = upward.submission_id
    session.flush()  # the unique original: a repost drafted at the same moment fails here
    audit.record(
        session,
        "repost.draft",
        actor=actor,
        subject=f"submission:{repost.id}",
        payload={
            "upward_publication": upward.id,
            "original": upward.submission_id,
            "platform": load_channels()[upward.channel].display_name,
            "url": upward.url,
            "channels": chosen,
        },
        at=now,
    )
    for pub in held:
        if pub.channel in chosen:
            _make_way(session, pub, repost, actor=actor, now=now)
    return repost


def _repost_draft(
    app: App, version: Version, rows: list[ChannelRequest], upward: Publication
) -> submissions.Draft:
    """The original's approved content, for `rows`, with `upward`'s adoption as the source."""
    assert upward.url is not None and upward.published_at is not None
    platform = load_channels()[upward.channel].display_name
    source = RepostSource(platform, upward.url, upward.published_at)
    return submissions.draft_of(app.blobs, version, rows, source)


# A repost whose rows are all still in one of these has not begun to go out.
NOT_STARTED = frozenset({State.SCHEDULED.value, State.HELD.value, State.CANCELLED.value})


def repost_of_original(session: Session, original_id: int) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.repost_origin_id == original_id))


def started(session: Session, repost_ids: Iterable[int]) -> set[int]:
    """The reposts among `repost_ids` some row of which has begun to go out (so their source
    may no longer change): one query for any number of them."""
    return set(
        session.scalars(
            select(Publication.submission_id)
            .where(
                Publication.submission_id.in_(list(repost_ids)),
                Publication.state.not_in(NOT_STARTED),
            )
            .distinct()
        )
    )


def cite(
    session: Session, app: App, upward: Publication, *, actor: str, now: datetime | None = None
) -> Submission:
    """综合科 chooses the adoption the repost cites: the repost's next version carries
    `upward`'s source (platform, URL, time) and waits for 签发 again; the version before it
    and its rows are superseded. Only before any of the repost has begun to go out."""
    now = now or datetime.now(UTC)
    repost = repost_of_original(session, upward.submission_id)
    if repost is None:
        raise Conflict(f"稿件 {upward.submission_id} 还没有转载稿", code="no_repost")
    if repost.repost_of_id == upward.id:
        raise Conflict(f"转载稿 {repost.id} 已引用这一来源", code="already_cited")
    if upward.state != State.PUBLISHED.value or not upward.url or upward.published_at is None:
        raise Conflict(
            f"发布 {upward.id} 尚未被上级平台采用（无发布链接），不能作为转载来源",
            code="not_adopted",
        )
    if started(session, [repost.id]):
        raise Conflict(f"转载稿 {repost.id} 已开始发布，不能再更换来源", code="repost_started")
    before = repost.repost_of_id
    current = repost.current
    today = now.astimezone(SHANGHAI).date()
    rows = [
        ChannelRequest(c.channel, max(c.publish_date, today), c.remark) for c in current.channels
    ]
    submissions.revise(
        session,
        app.blobs,
        repost.id,
        editor=actor,
        draft=_repost_draft(app, upward.version, rows, upward),
        now=now,
        check_role=False,
    )
    repost.repost_of_id = upward.id
    session.flush()
    audit.record(
        session,
        "repost.cite",
        actor=actor,
        subject=f"submission:{repost.id}",
        payload={
            "upward_publication": upward.id,
            "previous_upward_publication": before,
            "platform": load_channels()[upward.channel].display_name,
            "url": upward.url,
        },
        at=now,
    )
    return repost


def held_rows(session: Session, submission_id: int) -> list[Publication]:
    return list(
        session.scalars(
            select(Publication)
            .where(
                Publication.submission_id == submission_id,
                Publication.state == State.HELD.value,
            )
            .order_by(Publication.id)
        )
    )


def _make_way(
    session: Session, pub: Publication, repost: Submission, *, actor: str, now: datetime
) -> None:
    """A held row gives its place to the repost: the platform gets the article once."""
    note = f"上级平台已采用，改由转载稿（稿件 {repost.id}）发布"
    recorded_move(
        session,
        pub.id,
        (State.HELD,),
        State.CANCELLED,
        now=now,
        action="publication.cancel",
        actor=actor,
        payload={"reason": "reposted", "repost": repost.id},
        note=note,
    )


def _record_later_adoption(
    session: Session, repost: Submission, upward: Publication, *, actor: str, now: datetime
) -> None:
    audit.record(
        session,
        "repost.adoption_recorded",
        actor=actor,
        subject=f"submission:{repost.id}",
        payload={
            "upward_publication": upward.id,
            "platform": load_channels()[upward.channel].display_name,
            "url": upward.url,
            "note": "已有转载稿，本次采用只登记、不再转载",
        },
        at=now,
    )
