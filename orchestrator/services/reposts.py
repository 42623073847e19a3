"""转载: once an upward platform has published (采用) our item, the own platforms repost it with
the source kept. The repost is a new submission: it passes the three reviews and the gate,
including the qualified-source check, like anything else."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import ChannelKind
from channels.registry import load_channels
from gate.model import ChannelRequest, RepostSource
from orchestrator import audit
from orchestrator.app import App
from orchestrator.errors import Conflict, ContentMissingError
from orchestrator.models import Publication, Submission, Version
from orchestrator.services import submissions
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
    """A repost submission of an adopted upward publication (once per publication)."""
    now = now or datetime.now(UTC)
    existing = session.scalar(select(Submission).where(Submission.repost_of_id == upward.id))
    if existing is not None:
        return existing
    if upward.state != State.PUBLISHED.value or not upward.url or upward.published_at is None:
        raise Conflict(
            f"发布 {upward.id} 尚未被上级平台采用（无发布链接），不能转载", code="not_adopted"
        )
    version = upward.version
    platform = load_channels()[upward.channel].display_name
    today = now.astimezone(SHANGHAI).date()
    draft = submissions.Draft(
        title=version.title,
        body_html=_unlinked_body(version),
        images=[
            submissions.ImageFile(i.filename, _blob(app, i.sha256, i.filename))
            for i in version.images
        ],
        cover=submissions.ImageFile("cover", _blob(app, version.cover_sha256, "封面"))
        if version.cover_sha256
        else None,
        digest=version.digest,
        byline=version.byline,
        major_event=version.major_event,
        special_content=version.special_content,
        channels=[ChannelRequest(c, today, "转载") for c in (channels or own_channels())],
        repost=RepostSource(platform, upward.url, upward.published_at),
    )
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
    audit.record(
        session,
        "repost.draft",
        actor=actor,
        subject=f"submission:{repost.id}",
        payload={"upward_publication": upward.id, "platform": platform, "url": upward.url},
        at=now,
    )
    return repost


def _unlinked_body(version: Version) -> str:
    """The body with content-hash image srcs turned back into file names, for a new draft."""
    body = version.body_html
    for image in version.images:
        body = body.replace(submissions.IMAGE_SRC_PREFIX + image.sha256, image.filename)
    return body


def _blob(app: App, sha: str | None, name: str) -> bytes:
    data = app.blobs.get(sha) if sha else None
    if data is None:
        raise ContentMissingError(f"图片“{name}”在存储中缺失，无法生成转载稿")
    return data
