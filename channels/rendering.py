"""Pure helpers adapters share to turn an `Item` body into what a platform accepts.

Cleaning uses nh3 with one allow-list for articles. Images stay `sanshen-image:SHA256`
references until `rewrite_images` swaps them for the platform's URLs. Nothing here does I/O.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

import nh3

from channels.errors import Problem
from channels.item import IMAGE_SRC_PREFIX, Image, Item, Source

ARTICLE_TAGS = frozenset(
    {"p", "br", "strong", "em", "b", "i", "u", "h1", "h2", "h3", "h4", "ul", "ol", "li"}
    | {"blockquote", "img", "a", "table", "tr", "td", "th", "thead", "tbody", "span", "section"}
)
ARTICLE_ATTRIBUTES: Mapping[str, set[str]] = {
    "img": {"src", "alt"},
    "a": {"href"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
ARTICLE_CLASSES: Mapping[str, set[str]] = {"p": {"source"}}  # the 来源 line of a repost
URL_SCHEMES = frozenset({"http", "https", IMAGE_SRC_PREFIX.rstrip(":")})
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

MIME_BY_KIND = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}
ALL_IMAGE_KINDS = frozenset(MIME_BY_KIND)

_AttributeFilter = Callable[[str, str, str], str | None]


def _clean(body_html: str, attribute_filter: _AttributeFilter | None = None) -> str:
    return nh3.clean(
        body_html,
        tags=set(ARTICLE_TAGS),
        attributes={tag: set(names) for tag, names in ARTICLE_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        allowed_classes={tag: set(names) for tag, names in ARTICLE_CLASSES.items()},
        attribute_filter=attribute_filter,
    )


def clean_html(body_html: str) -> str:
    """The body with everything outside the article allow-list removed (scripts, styles, ...)."""
    return _clean(body_html)


def text_of(body_html: str) -> str:
    """The visible text, tags dropped, entities decoded, outer whitespace stripped."""
    return html.unescape(nh3.clean(body_html, tags=set())).strip()


def image_srcs(body_html: str) -> list[str]:
    """Every `<img src>` that survives cleaning, in document order."""
    srcs: list[str] = []

    def collect(element: str, attribute: str, value: str) -> str:
        if element == "img" and attribute == "src":
            srcs.append(value)
        return value

    _clean(body_html, collect)
    return srcs


def referenced_images(body_html: str) -> list[str]:
    """The SHA-256 of every `sanshen-image:` the body refers to, in order, without repeats."""
    srcs = image_srcs(body_html)
    return list(
        dict.fromkeys(
            s.removeprefix(IMAGE_SRC_PREFIX) for s in srcs if s.startswith(IMAGE_SRC_PREFIX)
        )
    )


def rewrite_images(body_html: str, mapping: Mapping[str, str]) -> str:
    """Clean the body and point each `sanshen-image:SHA256` at `mapping[SHA256]`."""
    missing: list[str] = []

    def rewrite(element: str, attribute: str, value: str) -> str:
        if element == "img" and attribute == "src" and value.startswith(IMAGE_SRC_PREFIX):
            sha = value.removeprefix(IMAGE_SRC_PREFIX)
            if sha not in mapping:
                missing.append(sha)
                return value
            return mapping[sha]
        return value

    cleaned = _clean(body_html, rewrite)
    if missing:
        raise ValueError(f"正文引用的图片没有对应地址：{', '.join(missing)}")
    return cleaned


def source_paragraph(source: Source) -> str:
    published = source.published_at
    if published.tzinfo is not None:
        published = published.astimezone(LOCAL_TZ)
    url = html.escape(source.url)
    return (
        f'<p class="source">{html.escape(source.line)}　'
        f'原文：<a href="{url}">{url}</a>　'
        f"发布日期：{published.date().isoformat()}</p>"
    )


def with_source_line(body_html: str, source: Source, *, at_end: bool = True) -> str:
    """The body with a 来源 line (platform, original URL, date) for a repost."""
    line = source_paragraph(source)
    return body_html + line if at_end else line + body_html


def sniff_image(data: bytes) -> str | None:
    """ "jpeg", "png" or "gif" from the file's first bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def image_problems(
    image: Image,
    *,
    field: str,
    max_bytes: int,
    kinds: Iterable[str] = ALL_IMAGE_KINDS,
) -> list[Problem]:
    """Type (by content, and the declared MIME agreeing) and size of one image."""
    allowed = frozenset(kinds)
    problems: list[Problem] = []
    kind = sniff_image(image.data)
    if kind not in allowed or MIME_BY_KIND[kind] != image.mime.lower():
        names = "、".join(sorted(k.upper() for k in allowed))
        problems.append(
            Problem(
                "image_type",
                f"图片 {image.filename} 的格式不受支持，仅限 {names}",
                field,
                max_bytes=max_bytes,
                kinds=tuple(sorted(allowed)),
            )
        )
    if len(image.data) > max_bytes:
        problems.append(
            Problem(
                "image_too_large",
                f"图片 {image.filename} 大小 {_size(len(image.data))}，超过上限 {_size(max_bytes)}",
                field,
                max_bytes=max_bytes,
                kinds=tuple(sorted(allowed)),
            )
        )
    return problems


def body_image_problems(
    item: Item, *, max_bytes: int, kinds: Iterable[str] = ALL_IMAGE_KINDS
) -> list[Problem]:
    """Every referenced image present in `item.images`, and each image's type and size."""
    present = {image.sha256 for image in item.images}
    problems = [
        Problem("image_missing", f"正文引用的图片 {sha[:12]}… 未随稿件提供", "body_html")
        for sha in referenced_images(item.body_html)
        if sha not in present
    ]
    for index, image in enumerate(item.images):
        problems += image_problems(
            image, field=f"images[{index}]", max_bytes=max_bytes, kinds=kinds
        )
    return problems


def title_problems(title: str, *, max_chars: int) -> list[Problem]:
    if not title.strip():
        return [Problem("title_missing", "标题不能为空", "title")]
    if len(title) > max_chars:
        return [
            Problem("title_too_long", f"标题 {len(title)} 字，超过上限 {max_chars} 字", "title")
        ]
    return []


def body_problems(body_html: str) -> list[Problem]:
    """The body must keep some text or an image once cleaned."""
    cleaned = clean_html(body_html)
    if text_of(cleaned) or image_srcs(cleaned):
        return []
    return [Problem("body_empty", "正文清理后为空", "body_html")]


def source_problems(source: Source | None) -> list[Problem]:
    if source is None:
        return []
    problems: list[Problem] = []
    if not source.platform.strip():
        problems.append(Problem("source_missing", "转载稿件须注明来源平台", "source"))
    if not source.url.startswith(("https://", "http://")):
        problems.append(Problem("source_url_invalid", "转载稿件的原文地址须为网址", "source"))
    return problems


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.0f} KB"
