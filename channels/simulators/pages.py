"""Public article pages: one Jinja2 template per platform, with the platform's chrome.

A page is what a reader's browser gets at the article's public URL: site header, navigation,
breadcrumbs, sidebar, related links, footer (版权所有, 备案号, 主办单位), a view counter, share
buttons, the 来源/编辑/发布时间 line, and the article itself. Live-page verification has to find
the article inside all that, so the chrome is deliberately as busy as the real sites'.

政府网站 declares GB2312 and is encoded as GBK, as Chinese government sites are: characters
GB2312 lacks still come out as GBK bytes, and what GBK lacks becomes `&#NNNN;`. Decode such a
page as GB18030, never with Python's strict `gb2312` codec. Every other page is UTF-8.

Templates live in `templates/pages/<platform>.html` and are compiled once, at import. Each
extends `_layout.html` (doctype, charset declaration, the footer's last line) and takes its
related-links list from `_macros.html`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class PageArticle:
    title: str
    body_html: str  # the article body as the platform holds it, image src already platform URLs
    published_at: datetime  # aware
    source: str = ""  # e.g. "青浦区政务服务中心"; shown in the meta line
    editor: str = ""
    views: int = 0
    related: tuple[str, ...] = ()  # titles for the related-links box


@dataclass(frozen=True)
class _Encoding:
    declared: str  # what the page and its Content-Type header say
    codec: str  # how its bytes are really encoded


_ENCODINGS = {"gov_website": _Encoding("gb2312", "gbk")}
_UTF8 = _Encoding("utf-8", "utf-8")

# Shown when the publisher gave none, as each site prints its own name.
_DEFAULT_SOURCE = {
    "gov_website": "青浦区政务服务中心",
    "suishenban": "随申办青浦旗舰店",
    "wechat": "青浦政务服务",
    "xuexi": "青浦区融媒体中心",
    "lvse_qingpu": "绿色青浦",
}

PLATFORMS: tuple[str, ...] = tuple(_DEFAULT_SOURCE)

# Shared with the back-end's templates (`cms.py`): one loader, strict and autoescaped.
TEMPLATE_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
_TEMPLATES: dict[str, Template] = {
    name: TEMPLATE_ENV.get_template(f"pages/{name}.html") for name in PLATFORMS
}


def render_page(platform: str, article: PageArticle) -> tuple[bytes, str]:
    """The page's bytes and its Content-Type header value."""
    return render(platform, article)


def render(
    platform: str, article: PageArticle, *, declare_charset: bool = True
) -> tuple[bytes, str]:
    """`render_page`, optionally without any charset declaration (header and `<meta>`)."""
    template = _TEMPLATES.get(platform)
    if template is None:
        raise KeyError(f"没有平台 {platform} 的页面模板；已有：{'、'.join(PLATFORMS)}")
    encoding = _ENCODINGS.get(platform, _UTF8)
    text = template.render(_context(platform, article, declare_charset, encoding))
    data = text.encode(encoding.codec, errors="xmlcharrefreplace")
    if not declare_charset:
        return data, "text/html"
    return data, f"text/html; charset={encoding.declared}"


def codec(platform: str) -> str:
    """The codec a platform's page bytes are encoded with (for text a simulator adds)."""
    return _ENCODINGS.get(platform, _UTF8).codec


def _context(
    platform: str, article: PageArticle, declare_charset: bool, encoding: _Encoding
) -> dict[str, Any]:
    local = article.published_at.astimezone(LOCAL_TZ)
    return {
        "title": article.title,
        "body": Markup(article.body_html),  # the platform's own stored HTML, served as is
        "source": article.source or _DEFAULT_SOURCE[platform],
        "editor": article.editor,
        "views": article.views,
        "related": article.related,
        "published": local.strftime("%Y-%m-%d %H:%M"),
        "published_cn": f"{local.year}年{local.month:02d}月{local.day:02d}日 {local:%H:%M}",
        "date": local.strftime("%Y-%m-%d"),
        "year": local.year,
        "charset": encoding.declared if declare_charset else None,
    }
