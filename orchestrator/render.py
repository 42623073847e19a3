"""A version as a channel adapter sees it: `channels.item.Item`, built from rows and blobs.

`render` reads the rows; `item` renders plain values (`VersionText`, the department's name and
the approvals), so that the send path can render exactly what the gate checked, from the same
values, without reading the rows again (services.record_cache)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from channels.item import Image, Item, ReviewLine, Source
from gate.model import Decision, ReviewStage
from orchestrator.blobs import BlobStore, sniff_mime
from orchestrator.errors import ContentMissingError
from orchestrator.models import ReviewAction, Version


@dataclass(frozen=True, slots=True)
class VersionText:
    """What a version publishes, as plain values (no rows): `item` renders it."""

    title: str
    body_html: str
    images: tuple[tuple[str, str], ...]  # (SHA-256, file name), in body order
    cover_sha256: str | None
    byline: str
    digest: str
    dates: tuple[tuple[str, date], ...]  # (channel, publish date) of each 审批表 row
    source: Source | None
    fingerprint: str

    @classmethod
    def of(cls, version: Version) -> VersionText:
        source = None
        if version.repost_platform and version.repost_url and version.repost_published_at:
            source = Source(
                version.repost_platform, version.repost_url, version.repost_published_at
            )
        return cls(
            title=version.title,
            body_html=version.body_html,
            images=tuple((i.sha256, i.filename) for i in version.images),
            cover_sha256=version.cover_sha256,
            byline=version.byline,
            digest=version.digest,
            dates=tuple((c.channel, c.publish_date) for c in version.channels),
            source=source,
            fingerprint=version.fingerprint,
        )


def _image(store: BlobStore, sha: str, filename: str) -> Image:
    data = store.get(sha)
    if data is None:
        raise ContentMissingError(f"图片“{filename}”（{sha[:12]}）在存储中缺失或已损坏，无法发布")
    return Image(sha256=sha, filename=filename, mime=sniff_mime(data), data=data)


def review_line(stage: str, person: str, acted_at: datetime, signature: bytes) -> ReviewLine:
    """One approval as carried in upward packages."""
    return ReviewLine(
        stage=ReviewStage(stage).label,
        person=person,
        acted_at=acted_at,
        signature_fingerprint=hashlib.sha256(signature).hexdigest()[:16],
    )


def approves(fingerprint: str, decision: str, version_fingerprint: str) -> bool:
    """Whether an action is an approval of exactly this version."""
    return fingerprint == version_fingerprint and decision == Decision.APPROVE.value


def review_lines(actions: Iterable[ReviewAction], version: Version) -> tuple[ReviewLine, ...]:
    """The approvals of exactly this version, in order, as carried in upward packages."""
    return tuple(
        review_line(a.stage, a.actor.name, a.acted_at, a.signature)
        for a in actions
        if approves(a.fingerprint, a.decision, version.fingerprint)
    )


def item(
    text: VersionText,
    channel: str,
    *,
    department: str,
    review: tuple[ReviewLine, ...],
    reference: str,
    store: BlobStore,
) -> Item:
    """The item for `channel`: the images and the cover read (and checked) from the store."""
    publish_date = next((day for name, day in text.dates if name == channel), None)
    return Item(
        reference=reference,
        title=text.title,
        body_html=text.body_html,
        images=tuple(_image(store, sha, filename) for sha, filename in text.images),
        cover=_image(store, text.cover_sha256, "封面") if text.cover_sha256 else None,
        author=text.byline,
        digest=text.digest,
        department=department,
        publish_date=publish_date,
        source=text.source,
        review=review,
        fingerprint=text.fingerprint,
    )


def render(version: Version, channel: str, *, reference: str, store: BlobStore) -> Item:
    return item(
        VersionText.of(version),
        channel,
        department=version.submission.department.name,
        review=review_lines(version.submission.actions, version),
        reference=reference,
        store=store,
    )
