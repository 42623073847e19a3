"""What a 微信公众号 article looks like and may be: its limits (`problems`) and its content HTML,
which carries the idempotency key in `<section data-sanshen-key="KEY">` (`article_html`,
`marker`)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from channels.errors import Problem
from channels.item import Image, Item
from channels.rendering import (
    body_image_problems,
    body_problems,
    image_problems,
    referenced_images,
    rewrite_images,
    source_problems,
    title_problems,
    with_source_line,
)

MARKER_ATTRIBUTE = "data-sanshen-key"

TITLE_MAX = 32  # the API doc; wechatpy's constants still say 64
AUTHOR_MAX = 16
DIGEST_MAX = 128
CONTENT_MAX_CHARS = 20_000  # content must stay under both
CONTENT_MAX_BYTES = 1024 * 1024
SOURCE_URL_MAX_BYTES = 1024
THUMB_MAX_BYTES = 64 * 1024
INLINE_IMAGE_MAX_BYTES = 1024 * 1024 - 1  # "under 1 MB"

# Problems that do not stop a publish: the platform fixes them silently.
WARNING_CODES = frozenset({"scripts_stripped"})

# What the body's images look like once uploaded, to size the content before any upload.
_PLACEHOLDER_IMAGE_URL = "http://mmbiz.qpic.cn/mmbiz_jpg/" + "x" * 96 + "/0?wx_fmt=jpeg"
_PLACEHOLDER_KEY = "k" * 64


def article_problems(item: Item) -> list[Problem]:
    """Every problem WeChat would have with the item (`WARNING_CODES` do not stop a publish)."""
    found = title_problems(item.title, max_chars=TITLE_MAX)
    found += _length_problem("author", item.author, AUTHOR_MAX, "作者")
    found += _length_problem("digest", item.digest, DIGEST_MAX, "摘要")
    found += body_problems(item.body_html)
    found += body_image_problems(item, max_bytes=INLINE_IMAGE_MAX_BYTES, kinds=("jpeg", "png"))
    found += _cover_problems(item.cover)
    found += source_problems(item.source)
    if item.source and len(item.source.url.encode()) > SOURCE_URL_MAX_BYTES:
        found.append(Problem("source_url_too_long", "原文链接超过 1 KB 上限", "source"))
    found += _content_problems(_estimated_content(item))
    if re.search(r"<script\b", item.body_html, re.IGNORECASE):
        found.append(Problem("scripts_stripped", "提示：正文中的脚本会被微信删除", "body_html"))
    return found


def article_html(item: Item, key: str, urls: Mapping[str, str]) -> str:
    """The article's HTML: images at their uploaded `urls`, a 来源 line, the key's marker."""
    body = rewrite_images(item.body_html, urls)
    if item.source is not None:
        body = with_source_line(body, item.source)
    return f'<section {MARKER_ATTRIBUTE}="{html.escape(key)}">{body}</section>'


def _estimated_content(item: Item) -> str:
    placeholders = dict.fromkeys(referenced_images(item.body_html), _PLACEHOLDER_IMAGE_URL)
    return article_html(item, _PLACEHOLDER_KEY, placeholders)


def marker(key: str) -> re.Pattern[str]:
    """Finds the key's marker in an article's content as WeChat gives it back."""
    value = re.escape(html.escape(key))
    return re.compile(rf"""{MARKER_ATTRIBUTE}\s*=\s*["']?{value}["'\s>]""")


def body_images(item: Item) -> list[Image]:
    """The item's images its body refers to, in the body's order."""
    by_sha = {image.sha256: image for image in item.images}
    return [by_sha[sha] for sha in referenced_images(item.body_html)]


def _length_problem(field: str, value: str, limit: int, label: str) -> list[Problem]:
    if len(value) <= limit:
        return []
    return [Problem(f"{field}_too_long", f"{label} {len(value)} 字，超过上限 {limit} 字", field)]


def _cover_problems(cover: Image | None) -> list[Problem]:
    if cover is None:
        return [Problem("cover_missing", "微信公众号文章须有封面图（JPG，不超过 64 KB）", "cover")]
    return image_problems(cover, field="cover", max_bytes=THUMB_MAX_BYTES, kinds=("jpeg",))


def _content_problems(text: str) -> list[Problem]:
    found = []
    if len(text) >= CONTENT_MAX_CHARS:
        found.append(
            Problem(
                "content_too_long",
                f"正文排版后约 {len(text)} 字符，须少于 {CONTENT_MAX_CHARS} 字符",
                "body_html",
            )
        )
    if len(text.encode()) >= CONTENT_MAX_BYTES:
        found.append(Problem("content_too_large", "正文排版后须小于 1 MB", "body_html"))
    return found
