"""Canonical bytes: the version fingerprint and the message each review signature covers.

Both are JSON with sorted keys, no insignificant whitespace and UTF-8 text, so the same
values always give the same bytes on any machine. Changing either format invalidates every
signature ever made: bump the version tag instead and keep the old one verifiable.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from gate.model import Content, Decision, ReviewStage

FINGERPRINT_FORMAT = "sanshen.version.v1"
SIGNATURE_FORMAT = "sanshen.review.v1"
AMENDMENT_FORMAT = "sanshen.reschedule.v1"
MANUAL_FORMAT = "sanshen.manual.v1"


def _utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime in a signed record")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def content_document(content: Content) -> dict[str, Any]:
    """The canonical form of a version: everything that will be published."""
    source = content.repost_source
    return {
        "format": FINGERPRINT_FORMAT,
        "title": content.title,
        "body_html": content.body_html,
        "image_hashes": list(content.image_hashes),
        "cover_hash": content.cover_hash,
        "digest": content.digest,
        "byline": content.byline,
        "major_event": content.major_event,
        "special_content": content.special_content,
        "channels": [
            {"channel": c.channel, "publish_date": c.publish_date.isoformat(), "remark": c.remark}
            for c in content.channels
        ],
        "repost_source": None
        if source is None
        else {
            "platform": source.platform,
            "url": source.url,
            "published_at": _utc(source.published_at),
        },
    }


def fingerprint(content: Content) -> str:
    """SHA-256 hex over the canonical form of the content."""
    return hashlib.sha256(_dumps(content_document(content))).hexdigest()


def signing_payload(
    *,
    submission_id: str,
    fingerprint: str,
    stage: ReviewStage,
    decision: Decision,
    acted_at: datetime,
    comment: str,
) -> bytes:
    """The exact bytes a reviewer's Ed25519 key signs for one review action."""
    return _dumps(
        {
            "format": SIGNATURE_FORMAT,
            "submission": submission_id,
            "fingerprint": fingerprint,
            "stage": stage.value,
            "decision": decision.value,
            "acted_at": _utc(acted_at),
            "comment": comment,
        }
    )


def amendment_payload(
    *,
    submission_id: str,
    fingerprint: str,
    channel: str,
    old_date: date,
    new_date: date,
    acted_at: datetime,
    comment: str,
) -> bytes:
    """The exact bytes the 宣传分管领导's key signs for one 改期 of a signed row."""
    return _dumps(
        {
            "format": AMENDMENT_FORMAT,
            "submission": submission_id,
            "fingerprint": fingerprint,
            "channel": channel,
            "old_date": old_date.isoformat(),
            "new_date": new_date.isoformat(),
            "acted_at": _utc(acted_at),
            "comment": comment,
        }
    )


def manual_payload(
    *,
    submission_id: str,
    fingerprint: str,
    channel: str,
    kind: str,
    url: str,
    external_id: str,
    acted_at: datetime,
    comment: str,
) -> bytes:
    """The exact bytes a person's key signs when they record what they did by hand on an
    assisted channel (published the signed version at `url`, or took it down)."""
    return _dumps(
        {
            "format": MANUAL_FORMAT,
            "submission": submission_id,
            "fingerprint": fingerprint,
            "channel": channel,
            "kind": kind,
            "url": url,
            "external_id": external_id,
            "acted_at": _utc(acted_at),
            "comment": comment,
        }
    )
