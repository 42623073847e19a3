"""The rules over the content itself: channel rows, the repost's source, the stored images."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from gate.rules.basics import aware, has_space
from gate.rules.context import Context
from gate.verdict import Violation, violation


def rule_channels_requested(context: Context) -> Iterator[Violation]:
    """At least one channel row. No per-channel approval is needed: the fingerprint covers
    every row (channel, publish date, remark), so one 签发 covers exactly these channels."""
    if not context.record.content.channels:
        yield violation("no_channels")


def rule_repost_source_complete(context: Context) -> Iterator[Violation]:
    source = context.record.content.repost_source
    if source is None:
        return
    fields = (("来源平台", source.platform), ("原文链接", source.url))
    missing = [name for name, value in fields if not value.strip()]
    if missing:
        yield violation("repost_source_missing_fields", fields="、".join(missing))
    if not aware(source.published_at):
        yield violation("repost_source_time_invalid")


def rule_repost_source_qualified(context: Context) -> Iterator[Violation]:
    source = context.record.content.repost_source
    if source is None or not source.platform.strip():
        return
    if source.platform.strip() not in context.policy.qualified_sources:
        yield violation("source_not_qualified", platform=source.platform)


def rule_repost_source_url(context: Context) -> Iterator[Violation]:
    source = context.record.content.repost_source
    if source is None or not source.url.strip():
        return
    parts = urlsplit(source.url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or has_space(source.url):
        yield violation("repost_source_invalid", url=source.url)


def rule_images_stored(context: Context) -> Iterator[Violation]:
    """Every image the content names is stored, with bytes that still hash to that name."""
    content = context.record.content
    named = list(dict.fromkeys([*content.image_hashes, *filter(None, [content.cover_hash])]))
    stored = context.record.stored_images
    if not named:
        return
    if stored is None:
        yield violation("images_unverified")
        return
    for sha in named:
        if sha not in stored:
            yield violation("images_unverified")
        elif stored[sha] is None:
            yield violation("image_missing", image=sha[:12])
        elif stored[sha] != sha:
            yield violation("image_bytes_changed", image=sha[:12], actual=str(stored[sha])[:12])
