"""One live page: what was published, what it shows now, and the faults put on it."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

from channels.simulators.pages import PageArticle

IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


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
        return images_of(self.url, self.body_html)

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


def images_of(url: str, body_html: str) -> list[str]:
    return [urljoin(url, html.unescape(src)) for src in IMG_SRC.findall(body_html)]
