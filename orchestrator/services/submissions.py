"""稿件 and their immutable versions. Any edit is a new version with a new fingerprint."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from channels.rendering import clean_html
from gate.canonical import fingerprint
from gate.model import ChannelRequest, Content, RepostSource
from orchestrator import audit
from orchestrator.blobs import BlobStore
from orchestrator.errors import ContentMissingError, NotFound
from orchestrator.models import ChannelRequestRow, Person, Submission, Version, VersionImage
from orchestrator.permissions import require_writer
from orchestrator.services import dispatch, draftcheck
from orchestrator.services.drafts import (
    Draft,
    ImageFile,
    body_text,
    channel_catalogue,
    check_draft,
    check_images,
    resolve_channel,
)
from orchestrator.services.hub import ChannelHub
from orchestrator.services.org import department_by_code, person_by_username

__all__ = [
    "IMAGE_SRC_PREFIX",
    "ChannelRequest",
    "Draft",
    "ImageFile",
    "add_version",
    "body_text",
    "channel_catalogue",
    "content_of",
    "create",
    "draft_of",
    "get",
    "resolve_channel",
    "revise",
]

IMAGE_SRC_PREFIX = "sanshen-image:"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _stored_images(session: Session, store: BlobStore, draft: Draft) -> list[VersionImage]:
    return [
        VersionImage(
            position=i, sha256=store.put(session, image.data).sha256, filename=image.filename
        )
        for i, image in enumerate(draft.images)
    ]


def _linked_body(body: str, images: list[ImageFile]) -> str:
    """The body as it is stored and signed: srcs naming an image file point at its content
    hash instead, and the HTML is cleaned."""
    for image in images:
        sha = hashlib.sha256(image.data).hexdigest()
        body = re.sub(
            r'(src\s*=\s*["\'])' + re.escape(image.filename) + r'(["\'])',
            rf"\g<1>{IMAGE_SRC_PREFIX}{sha}\g<2>",  # a hex hash: nothing to escape
            body,
        )
    return clean_html(body)


def _image_hashes(version: Version) -> tuple[str, ...]:
    return tuple(image.sha256 for image in version.images)


def draft_of(
    store: BlobStore,
    version: Version,
    channels: list[ChannelRequest],
    repost: RepostSource | None,
) -> Draft:
    """A stored version's content as a draft again (its images read back from the store), for
    `channels`, with `repost` as its source."""
    body = version.body_html
    for image in version.images:
        body = body.replace(IMAGE_SRC_PREFIX + image.sha256, image.filename)
    return Draft(
        title=version.title,
        body_html=body,
        images=[
            ImageFile(i.filename, _stored(store, i.sha256, i.filename)) for i in version.images
        ],
        cover=ImageFile("cover", _stored(store, version.cover_sha256, "封面"))
        if version.cover_sha256
        else None,
        digest=version.digest,
        byline=version.byline,
        major_event=version.major_event,
        special_content=version.special_content,
        channels=channels,
        repost=repost,
    )


def _stored(store: BlobStore, sha: str | None, name: str) -> bytes:
    data = store.get(sha) if sha else None
    if data is None:
        raise ContentMissingError(f"图片“{name}”在存储中缺失，无法生成新版本")
    return data


def content_of(version: Version) -> Content:
    """The gate's view of a version: exactly what will be published."""
    repost = None
    if version.repost_platform:
        assert version.repost_url is not None and version.repost_published_at is not None
        repost = RepostSource(
            version.repost_platform, version.repost_url, version.repost_published_at
        )
    return Content(
        title=version.title,
        body_html=version.body_html,
        image_hashes=_image_hashes(version),
        cover_hash=version.cover_sha256,
        digest=version.digest,
        byline=version.byline,
        major_event=version.major_event,
        special_content=version.special_content,
        channels=tuple(
            ChannelRequest(c.channel, c.publish_date, c.remark) for c in version.channels
        ),
        repost_source=repost,
    )


def add_version(
    session: Session,
    store: BlobStore,
    submission: Submission,
    author: Person,
    draft: Draft,
    now: datetime,
    reviewed_version: Version | None = None,
    fixes: list[str] | None = None,
    check_channels: bool = True,
) -> Version:
    """A new version of `draft`, refused whole when a requested channel would refuse it
    (draftcheck; `check_channels=False` only for the system's own drafts, which a person
    completes in a revision); `reviewed_version`: made by 稿件用途 from that version's reviews
    (models.Version.reviewed_version); `fixes` receives what 自动修正 changed."""
    catalogue = channel_catalogue()
    check_draft(draft, catalogue, now.astimezone(SHANGHAI).date())
    check_images(draft)
    hub = ChannelHub()
    department = submission.department.name
    if draft.autofix:
        draft, done = draftcheck.autofix(
            draft, _linked_body(draft.body_html, draft.images), department, hub
        )
        if fixes is not None:
            fixes.extend(done)
    body_html = _linked_body(draft.body_html, draft.images)
    if check_channels:
        draftcheck.refuse(draftcheck.problems(draft, body_html, department, hub))
    cover = store.put(session, draft.cover.data) if draft.cover else None
    images = _stored_images(session, store, draft)
    version = Version(
        submission=submission,
        number=len(submission.versions) + 1,
        title=draft.title.strip(),
        # Reviewers sign exactly what goes out: the body is cleaned before it is fingerprinted.
        body_html=body_html,
        digest=draft.digest,
        byline=draft.byline,
        cover_sha256=cover.sha256 if cover else None,
        major_event=draft.major_event,
        special_content=draft.special_content,
        repost_platform=draft.repost.platform if draft.repost else None,
        repost_url=draft.repost.url if draft.repost else None,
        repost_published_at=draft.repost.published_at if draft.repost else None,
        images=images,
        channels=[
            ChannelRequestRow(
                position=i, channel=row.channel, publish_date=row.publish_date, remark=row.remark
            )
            for i, row in enumerate(draft.channels)
        ],
        created_by_id=author.id,
        created_at=now,
        reviewed_version=reviewed_version,
    )
    # Computed before the row is written: versions are never updated afterwards.
    version.fingerprint = fingerprint(content_of(version))
    session.add(version)
    session.flush()
    return version


def _new_version(
    session: Session,
    store: BlobStore,
    submission: Submission,
    person: Person,
    draft: Draft,
    now: datetime,
    check_channels: bool,
) -> tuple[Version, list[str]]:
    """A person's new version and what 自动修正 changed in it (create and revise alike)."""
    done: list[str] = []
    version = add_version(
        session, store, submission, person, draft, now, fixes=done, check_channels=check_channels
    )
    return version, done


def _autofixed(done: list[str]) -> dict[str, list[str]]:
    """The audit payload's note of what 自动修正 changed (nothing when it changed nothing)."""
    return {"autofixed": done} if done else {}


def create(
    session: Session,
    store: BlobStore,
    *,
    author: str,
    department: str,
    draft: Draft,
    now: datetime | None = None,
    check_role: bool = True,
    fixes: list[str] | None = None,
    urgent: bool = False,
) -> Submission:
    """A new submission. `check_role=False` only for the system's own drafts (auto reposts)."""
    now = now or datetime.now(UTC)
    person = person_by_username(session, author)
    home = department_by_code(session, department)
    if check_role:
        require_writer(person, home, now)
    submission = Submission(
        uid=str(uuid.uuid4()), department=home, author=person, created_at=now, urgent=urgent
    )
    session.add(submission)
    version, done = _new_version(session, store, submission, person, draft, now, check_role)
    if fixes is not None:
        fixes.extend(done)
    audit.record(
        session,
        "submission.create",
        actor=author,
        subject=f"submission:{submission.id}",
        payload={
            "uid": submission.uid,
            "version": 1,
            "fingerprint": version.fingerprint,
            "title": version.title,
            **_autofixed(done),
        },
        at=now,
    )
    return submission


def revise(
    session: Session,
    store: BlobStore,
    submission_id: int,
    *,
    editor: str,
    draft: Draft,
    now: datetime | None = None,
    check_role: bool = True,
    fixes: list[str] | None = None,
) -> Version:
    """A new version; approvals of earlier versions do not carry over (the gate sees to it).
    `check_role=False` only where the caller checked another permission (综合科 choosing the
    source a repost cites)."""
    now = now or datetime.now(UTC)
    submission = get(session, submission_id)
    person = person_by_username(session, editor)
    if check_role:
        require_writer(person, submission.department, now)
    dispatch.cancel_superseded(session, submission, now=now, actor=editor)
    version, done = _new_version(session, store, submission, person, draft, now, check_role)
    if fixes is not None:
        fixes.extend(done)
    audit.record(
        session,
        "submission.revise",
        actor=editor,
        subject=f"submission:{submission.id}",
        payload={
            "version": version.number,
            "fingerprint": version.fingerprint,
            **_autofixed(done),
        },
        at=now,
    )
    return version


def get(session: Session, submission_id: int) -> Submission:
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(f"稿件 {submission_id} 不存在", code="unknown_submission")
    return submission
