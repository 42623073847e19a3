"""A version as a channel adapter sees it: `channels.item.Item`, built from rows and blobs."""

from __future__ import annotations

import hashlib

from channels.item import Image, Item, ReviewLine, Source
from gate.model import Decision, ReviewStage
from orchestrator.blobs import BlobStore, sniff_mime
from orchestrator.errors import ContentMissingError
from orchestrator.models import ReviewAction, Version


def _image(store: BlobStore, sha: str, filename: str) -> Image:
    data = store.get(sha)
    if data is None:
        raise ContentMissingError(f"图片“{filename}”（{sha[:12]}）在存储中缺失或已损坏，无法发布")
    return Image(sha256=sha, filename=filename, mime=sniff_mime(data), data=data)


def review_lines(actions: list[ReviewAction], version: Version) -> tuple[ReviewLine, ...]:
    """The approvals of exactly this version, in order, as carried in upward packages."""
    return tuple(
        ReviewLine(
            stage=ReviewStage(a.stage).label,
            person=a.actor.name,
            acted_at=a.acted_at,
            signature_fingerprint=hashlib.sha256(a.signature).hexdigest()[:16],
        )
        for a in actions
        if a.fingerprint == version.fingerprint and a.decision == Decision.APPROVE.value
    )


def render(version: Version, channel: str, *, reference: str, store: BlobStore) -> Item:
    source = None
    if version.repost_platform and version.repost_url and version.repost_published_at:
        source = Source(version.repost_platform, version.repost_url, version.repost_published_at)
    request = next((c for c in version.channels if c.channel == channel), None)
    return Item(
        reference=reference,
        title=version.title,
        body_html=version.body_html,
        images=tuple(_image(store, i.sha256, i.filename) for i in version.images),
        cover=_image(store, version.cover_sha256, "封面") if version.cover_sha256 else None,
        author=version.byline,
        digest=version.digest,
        department=version.submission.department.name,
        publish_date=request.publish_date if request else None,
        source=source,
        review=review_lines(version.submission.actions, version),
        fingerprint=version.fingerprint,
    )
