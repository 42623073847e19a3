"""The public pages a simulator serves, and the faults a test can put on each live page.

Every simulator keeps the pages of its published articles in a `LivePages` registry, keyed by
the URL's path and query (so the host a client used does not matter). A page answers through its
platform's template (`pages.py`); its images answer through `image_response`, so the faults
reach them too. Live-page verification fetches these URLs; the knobs below are what it must
notice. `PUT /_sim/pages` and `Simulator.alter_page` take them, applied in this order:

    restore: true          clear every fault of the page first (its text back as published)
    replace: [old, new]    alter the live text: the first `old` in the body's HTML becomes `new`
    append: "<p>…</p>"     add to the end of the body
    drop_paragraph: n      remove the n-th <p> of the body (counting from 1)
    swap_image: n          the n-th image (from 1) answers another, visibly different picture
    not_image: n           the n-th image answers bytes that are not an image, typed as an image
    remove: 404 | 410      the page answers that status
    hang_s: s              wait s seconds before answering
    huge_mb: n             the page grows to n MB, streamed (chunked, no Content-Length)
    undeclared: true       no charset, neither in the Content-Type header nor in the page
    redirect_loop: true    the page answers 302 to itself, forever

A page the platform itself took down (withdrawn, deleted, taken offline) answers 404 or 410
whatever its faults; `restore` does not bring it back.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Response
from PIL import Image, ImageDraw, UnidentifiedImageError

from channels.simulators.pages import PageArticle, codec, render

IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
PARAGRAPH = re.compile(r"<p(?:\s[^>]*)?>.*?</p\s*>", re.IGNORECASE | re.DOTALL)
GONE_TEXT = {404: "您访问的页面不存在或已被删除", 410: "该内容已被发布者删除"}
NOT_AN_IMAGE = "<html><body><h1>502 Bad Gateway</h1><p>图片服务暂时不可用</p></body></html>"
MAX_HANG_S = 300
MAX_HUGE_MB = 1024
RELATED_COUNT = 5


class PageUnknown(LookupError):
    def __init__(self, url: str) -> None:
        super().__init__(f"没有这个页面：{url}")
        self.message = str(self)


class KnobInvalid(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def page_key(url: str) -> str:
    """What the registry knows a URL by: its path and query, whatever host it names."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class PageFaults:
    edits: list[dict[str, Any]] = field(default_factory=list)  # text knobs, as applied
    swap_image: set[int] = field(default_factory=set)
    not_image: set[int] = field(default_factory=set)
    remove: int | None = None
    hang_s: float = 0.0
    huge_mb: float = 0.0
    undeclared: bool = False
    redirect_loop: bool = False

    def copy(self) -> PageFaults:
        return replace(
            self,
            edits=list(self.edits),
            swap_image=set(self.swap_image),
            not_image=set(self.not_image),
        )

    def as_json(self) -> dict[str, Any]:
        """Only the faults in effect."""
        values: dict[str, Any] = {
            "edits": list(self.edits),
            "swap_image": sorted(self.swap_image),
            "not_image": sorted(self.not_image),
            "remove": self.remove,
            "hang_s": self.hang_s,
            "huge_mb": self.huge_mb,
            "undeclared": self.undeclared,
            "redirect_loop": self.redirect_loop,
        }
        return {name: value for name, value in values.items() if value}


@dataclass
class LivePage:
    """One article's public page: what was published, and what it shows now."""

    url: str
    platform: str  # whose template it is rendered with
    article_id: str
    article: PageArticle  # as published
    column: str = ""
    body_html: str = ""  # the live body; as published until a knob changes it
    views: int = 0
    gone: int | None = None  # 404 or 410 once the platform took it down
    faults: PageFaults = field(default_factory=PageFaults)

    def __post_init__(self) -> None:
        self.body_html = self.body_html or self.article.body_html
        if not self.views:
            self.views = self.article.views or _first_views(self.article_id)

    @property
    def state(self) -> str:
        return "gone" if self.gone else "live"

    def images(self) -> list[str]:
        """The absolute URL of every image of the live body, in order."""
        return _images_of(self.url, self.body_html)

    def as_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "article_id": self.article_id,
            "title": self.article.title,
            "column": self.column,
            "state": self.state,
            "status": self.gone or 200,
            "published_at": self.article.published_at.isoformat(),
            "views": self.views,
            "images": self.images(),
            "faults": self.faults.as_json(),
        }


def _first_views(article_id: str) -> int:
    """A believable starting count, the same for the same article."""
    return 100 + int(hashlib.sha256(article_id.encode()).hexdigest()[:6], 16) % 900


class LivePages:
    """Thread-safe registry of one simulator's public pages and their faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, LivePage] = {}
        self._image_faults: dict[str, tuple[str, str]] = {}  # image key -> (knob, page key)
        self._swapped: dict[str, tuple[str, bytes]] = {}

    # --- what the platform does -------------------------------------------------------------

    def add(self, page: LivePage) -> LivePage:
        with self._lock:
            self._pages[page_key(page.url)] = page
        return page

    def take_down(self, url: str, status: int = 404) -> None:
        with self._lock:
            page = self._pages.get(page_key(url))
            if page is not None:
                page.gone = status

    def has(self, url: str) -> bool:
        with self._lock:
            return page_key(url) in self._pages

    def by_article(self, article_id: str) -> LivePage | None:
        with self._lock:
            return next((p for p in self._pages.values() if p.article_id == article_id), None)

    def all(self) -> list[LivePage]:
        """Every page, newest first."""
        with self._lock:
            return list(reversed(self._pages.values()))

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [page.as_json() for page in self._pages.values()]

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._image_faults.clear()
            self._swapped.clear()

    # --- the knobs --------------------------------------------------------------------------

    def alter(self, url: str, knobs: Mapping[str, Any]) -> dict[str, Any]:
        """Apply `knobs` to the page at `url`, all or none; raises `KnobInvalid`, `PageUnknown`."""
        names = ("restore", *KNOBS)
        unknown = sorted(set(knobs) - set(names))
        if unknown:
            raise KnobInvalid(f"不认识的设置：{'、'.join(unknown)}；可用：{'、'.join(names)}")
        if not knobs:
            raise KnobInvalid(f"没有要改的设置；可用：{'、'.join(names)}")
        key = page_key(url)
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                raise PageUnknown(url)
            draft = _Draft(page.body_html, page.faults.copy())
            if "restore" in knobs:
                _restore(draft, page, knobs["restore"])
            for name, apply in KNOBS.items():
                if name in knobs:
                    apply(draft, knobs[name])
            images = _images_of(page.url, draft.body_html)
            for knob in ("swap_image", "not_image"):
                for n in getattr(draft.faults, knob):
                    if n > len(images):
                        raise KnobInvalid(f"{knob}：第 {n} 张图片不存在（该页共 {len(images)} 张）")
            page.body_html, page.faults = draft.body_html, draft.faults
            self._image_faults = {
                image: fault for image, fault in self._image_faults.items() if fault[1] != key
            }
            for knob in ("swap_image", "not_image"):
                for n in getattr(page.faults, knob):
                    self._image_faults[page_key(images[n - 1])] = (knob, key)
            return page.as_json()

    # --- answering ----------------------------------------------------------------------------

    def respond(self, url: str) -> Response:
        """The page at `url` as a browser gets it, faults and all."""
        key = page_key(url)
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return _gone(404)
            faults = replace(page.faults)
            if not (page.gone or faults.remove or faults.redirect_loop):
                page.views += 1
            article = replace(
                page.article,
                body_html=page.body_html,
                views=page.views,
                related=self._related(page),
            )
            gone, platform, page_url = page.gone, page.platform, page.url
        if faults.hang_s:
            time.sleep(faults.hang_s)
        if gone or faults.remove:
            return _gone(gone or faults.remove or 404)
        if faults.redirect_loop:
            return Response(status=302, headers={"Location": page_url})
        declare = not faults.undeclared
        if faults.huge_mb:
            return _huge_page(platform, article, faults.huge_mb, declare_charset=declare)
        data, content_type = render(platform, article, declare_charset=declare)
        return Response(data, status=200, content_type=content_type)

    def image_response(self, url: str, mime: str, data: bytes) -> Response:
        """One image as stored, unless a page's fault says otherwise."""
        key = page_key(url)
        with self._lock:
            fault = self._image_faults.get(key)
            if fault is not None and fault[0] == "swap_image":
                if key not in self._swapped:
                    self._swapped[key] = other_picture(data)
                mime, data = self._swapped[key]
        if fault is not None and fault[0] == "not_image":
            data = NOT_AN_IMAGE.encode()
        return Response(data, status=200, content_type=mime)

    def _related(self, page: LivePage) -> tuple[str, ...]:
        others = [
            p.article.title
            for p in reversed(self._pages.values())
            if p is not page and not p.gone and p.platform == page.platform
        ]
        return tuple(others[:RELATED_COUNT])


# --- knob parsing: each takes the draft and the raw JSON value, raises KnobInvalid ------------


@dataclass
class _Draft:
    body_html: str
    faults: PageFaults


def _restore(draft: _Draft, page: LivePage, value: Any) -> None:
    if value is not True:
        raise KnobInvalid("restore 只能为 true")
    draft.body_html, draft.faults = page.article.body_html, PageFaults()


def _replace(draft: _Draft, value: Any) -> None:
    if not (isinstance(value, list | tuple) and len(value) == 2):
        raise KnobInvalid("replace 须为 [原文, 新文] 两个字符串")
    old, new = value
    if not isinstance(old, str) or not isinstance(new, str) or not old:
        raise KnobInvalid("replace 须为 [原文, 新文] 两个字符串，原文不能为空")
    if old not in draft.body_html:
        raise KnobInvalid(f"replace：正文中没有「{old}」")
    draft.body_html = draft.body_html.replace(old, new, 1)
    draft.faults.edits.append({"replace": [old, new]})


def _append(draft: _Draft, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise KnobInvalid("append 须为非空的 HTML 片段，例如 <p>新增一段</p>")
    draft.body_html += value
    draft.faults.edits.append({"append": value})


def _drop_paragraph(draft: _Draft, value: Any) -> None:
    paragraphs = list(PARAGRAPH.finditer(draft.body_html))
    n = _ordinal("drop_paragraph", value)
    if n > len(paragraphs):
        raise KnobInvalid(f"drop_paragraph：第 {n} 段不存在（正文共 {len(paragraphs)} 段）")
    found = paragraphs[n - 1]
    draft.body_html = draft.body_html[: found.start()] + draft.body_html[found.end() :]
    draft.faults.edits.append({"drop_paragraph": n})


def _swap_image(draft: _Draft, value: Any) -> None:
    draft.faults.swap_image.add(_ordinal("swap_image", value))


def _not_image(draft: _Draft, value: Any) -> None:
    draft.faults.not_image.add(_ordinal("not_image", value))


def _remove(draft: _Draft, value: Any) -> None:
    if value not in (404, 410) or isinstance(value, bool):
        raise KnobInvalid("remove 只能为 404 或 410")
    draft.faults.remove = int(value)


def _hang_s(draft: _Draft, value: Any) -> None:
    draft.faults.hang_s = _number("hang_s", value, MAX_HANG_S, "秒")


def _huge_mb(draft: _Draft, value: Any) -> None:
    draft.faults.huge_mb = _number("huge_mb", value, MAX_HUGE_MB, "MB")


def _undeclared(draft: _Draft, value: Any) -> None:
    draft.faults.undeclared = _flag("undeclared", value)


def _redirect_loop(draft: _Draft, value: Any) -> None:
    draft.faults.redirect_loop = _flag("redirect_loop", value)


def _ordinal(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise KnobInvalid(f"{name} 须为从 1 开始的序号")
    return value


def _number(name: str, value: Any, limit: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= limit:
        raise KnobInvalid(f"{name} 须为 0 到 {limit} 之间的数（{unit}），0 表示取消")
    return float(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise KnobInvalid(f"{name} 须为 true 或 false")
    return value


KNOBS: Mapping[str, Callable[[_Draft, Any], None]] = {
    "replace": _replace,
    "append": _append,
    "drop_paragraph": _drop_paragraph,
    "swap_image": _swap_image,
    "not_image": _not_image,
    "remove": _remove,
    "hang_s": _hang_s,
    "huge_mb": _huge_mb,
    "undeclared": _undeclared,
    "redirect_loop": _redirect_loop,
}


def _images_of(url: str, body_html: str) -> list[str]:
    return [urljoin(url, html.unescape(src)) for src in IMG_SRC.findall(body_html)]


# --- what a faulty page answers -----------------------------------------------------------------


def _gone(status: int) -> Response:
    text = GONE_TEXT.get(status, GONE_TEXT[404])
    page = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{text}</title></head><body><h1>{text}</h1></body></html>"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def _huge_page(
    platform: str, article: PageArticle, megabytes: float, *, declare_charset: bool
) -> Response:
    data, content_type = render(platform, article, declare_charset=declare_charset)
    head, _, tail = data.rpartition(b"</body>")
    tail = b"</body>" + tail
    paragraph = ("<p>" + "青浦区政务服务信息持续更新中。" * 60 + "</p>\n").encode(codec(platform))
    chunk = paragraph * max(1, 64 * 1024 // len(paragraph))
    target = int(megabytes * 1024 * 1024)

    def stream() -> Iterator[bytes]:
        sent = len(head)
        yield head
        while sent + len(tail) < target:
            piece = chunk[: target - sent - len(tail)] if sent + len(chunk) > target else chunk
            yield piece
            sent += len(piece)
        yield tail

    return Response(stream(), status=200, content_type=content_type, direct_passthrough=True)


def other_picture(original: bytes) -> tuple[str, bytes]:
    """A picture the same size and format as `original`, but plainly not it: bold stripes and
    a cross. Anything Pillow cannot read gets a 64×64 PNG."""
    try:
        with Image.open(io.BytesIO(original)) as source:
            size, kind = source.size, (source.format or "PNG").upper()
    except (UnidentifiedImageError, OSError):
        size, kind = (64, 64), "PNG"
    kind = kind if kind in ("JPEG", "PNG", "GIF") else "PNG"
    picture = Image.new("RGB", size, (255, 0, 255))
    draw = ImageDraw.Draw(picture)
    width, height = size
    stripe = max(2, min(width, height) // 8)
    for x in range(-height, width, stripe * 2):
        draw.polygon(
            [(x, 0), (x + stripe, 0), (x + stripe + height, height), (x + height, height)],
            fill=(0, 200, 0),
        )
    draw.line([(0, 0), (width, height)], fill=(0, 0, 0), width=stripe)
    draw.line([(0, height), (width, 0)], fill=(0, 0, 0), width=stripe)
    out = io.BytesIO()
    picture.save(out, format=kind)
    return f"image/{kind.lower()}", out.getvalue()
