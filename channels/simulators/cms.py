"""The back-end (CMS) where a clerk publishes by hand: the simulators' side of assisted mode.

For a platform that in reality has no API, the clerk pastes the signed article into the
platform's back-end, uploads its images and presses 发布; then records the URL. Each simulator
that offers this (`Simulator.cms_columns` not empty) serves, under its own prefix:

    GET  /cms/                        the form: 栏目, 标题, 正文 (HTML), 图片, 来源, 编辑, 发布
    POST /cms/                        publish, as the API would; the answer shows 发布成功 with
                                      the URL in #published-url and the id in #published-id
    GET  /cms/articles                every article the platform serves, each with 删除
    POST /cms/articles/<id>/delete    take the article down: its page answers 404

Uploaded images take the place, in order, of the body's images whose src the platform does not
serve (pasted from a desktop or another site); a body without any image gets them at its end,
as does any image left over.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from flask import Blueprint, Response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage

from channels.rendering import MIME_BY_KIND, clean_html, sniff_image, text_of
from channels.simulators.live.page import LivePage
from channels.simulators.live.registry import LivePages
from channels.simulators.pages import LOCAL_TZ, TEMPLATE_ENV

IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
SRC = re.compile(r"""(\bsrc\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
TITLE_MAX = 80
SOURCE_MAX = 50
EDITOR_MAX = 20
FIELDS = ("column", "title", "body", "source", "editor")
IMAGE_MAX_BYTES = 5 * 1024 * 1024

_FORM = TEMPLATE_ENV.get_template("cms/form.html")
_DONE = TEMPLATE_ENV.get_template("cms/done.html")
_ARTICLES = TEMPLATE_ENV.get_template("cms/articles.html")


@dataclass(frozen=True)
class CmsPost:
    """What the clerk published, images already in place (their srcs are platform URLs)."""

    column: str
    title: str
    body_html: str
    source: str = ""
    editor: str = ""


class CmsDesk(Protocol):
    """What a simulator gives its back-end."""

    pages: LivePages

    @property
    def display_name(self) -> str: ...

    @property
    def cms_columns(self) -> Sequence[tuple[str, str]]:
        """(code, 栏目名) of each column the clerk may publish to."""
        ...

    def public_url(self, path: str) -> str: ...

    def settle_pages(self) -> None: ...

    def cms_store_image(self, filename: str, mime: str, data: bytes) -> str:
        """Store one uploaded image; its public URL."""
        ...

    def cms_publish(self, post: CmsPost) -> LivePage:
        """Publish as the API would (page, ledger under "cms:<id>"); the new page."""
        ...

    def cms_take_down(self, article_id: str) -> bool:
        """Take the article down; False if the platform has no such article."""
        ...


@dataclass(frozen=True)
class _Upload:
    filename: str
    mime: str
    data: bytes


def place_images(body_html: str, urls: Sequence[str], *, known: Callable[[str], bool]) -> str:
    """`body_html` with `urls` in the place of its unknown image srcs, in order; a body without
    images, or images left over, go at the end."""
    queue = list(urls)
    if not IMG_TAG.search(body_html):
        return body_html + "".join(_figure(url) for url in queue)

    def swap(tag: re.Match[str]) -> str:
        src = SRC.search(tag.group(0))
        if not queue or (src is not None and known(html.unescape(src.group(3)))):
            return tag.group(0)
        url = html.escape(queue.pop(0))
        if src is None:
            return f'<img src="{url}"' + tag.group(0)[len("<img") :]
        return tag.group(0)[: src.start(3)] + url + tag.group(0)[src.end(3) :]

    placed = IMG_TAG.sub(swap, body_html)
    return placed + "".join(_figure(url) for url in queue)


def _figure(url: str) -> str:
    return f'<p><img src="{html.escape(url)}" alt=""></p>'


def cms_blueprint(desk: CmsDesk) -> Blueprint:
    cms = Blueprint("cms", __name__, url_prefix="/cms")

    def page(template_html: str, status: int = 200) -> Response:
        return Response(template_html, status=status, content_type="text/html; charset=utf-8")

    def shell() -> dict[str, object]:
        return {
            "platform": desk.display_name,
            "form_url": url_for("cms.form"),
            "articles_url": url_for("cms.articles"),
        }

    @cms.get("/")
    def form() -> ResponseReturnValue:
        return page(_FORM.render(shell(), columns=desk.cms_columns, values={}, errors=[]))

    @cms.post("/")
    def publish() -> ResponseReturnValue:
        values = {k: request.form.get(k, "") for k in FIELDS}
        uploads = [_upload(f) for f in request.files.getlist("images") if f.filename]
        errors = _problems(values, uploads, desk.cms_columns)
        if errors:
            html_page = _FORM.render(
                shell(), columns=desk.cms_columns, values=values, errors=errors
            )
            return page(html_page, 400)
        urls = [desk.cms_store_image(u.filename, u.mime, u.data) for u in uploads]
        root = desk.public_url("/")
        body = place_images(values["body"], urls, known=lambda src: src.startswith(root))
        post = CmsPost(
            column=values["column"],
            title=values["title"].strip(),
            body_html=clean_html(body),
            source=values["source"].strip(),
            editor=values["editor"].strip(),
        )
        published = desk.cms_publish(post)
        return page(_DONE.render(shell(), page=published))

    def listing(notice: str, status: int = 200) -> Response:
        desk.settle_pages()
        listed = [(p, url_for("cms.take_down", article_id=p.article_id)) for p in desk.pages.all()]
        columns = dict(desk.cms_columns)
        html_page = _ARTICLES.render(
            shell(), pages=listed, columns=columns, notice=notice, tz=LOCAL_TZ
        )
        return page(html_page, status)

    @cms.get("/articles")
    def articles() -> ResponseReturnValue:
        deleted = request.args.get("deleted", "")
        return listing(f"已删除文章 {deleted}，其页面已下线" if deleted else "")

    @cms.post("/articles/<article_id>/delete")
    def take_down(article_id: str) -> ResponseReturnValue:
        if not desk.cms_take_down(article_id):
            return listing(f"没有文章 {article_id}", 404)
        return redirect(url_for("cms.articles", deleted=article_id), code=303)

    return cms


def _problems(
    values: dict[str, str], uploads: list[_Upload], columns: Sequence[tuple[str, str]]
) -> list[str]:
    problems = []
    if values["column"] not in dict(columns):
        problems.append("请选择栏目")
    if not 1 <= len(values["title"].strip()) <= TITLE_MAX:
        problems.append(f"标题须为 1 至 {TITLE_MAX} 个字")
    if not text_of(values["body"]) and not IMG_TAG.search(values["body"]) and not uploads:
        problems.append("正文不能为空")
    if len(values["source"].strip()) > SOURCE_MAX:
        problems.append(f"来源不超过 {SOURCE_MAX} 个字")
    if len(values["editor"].strip()) > EDITOR_MAX:
        problems.append(f"编辑不超过 {EDITOR_MAX} 个字")
    for upload in uploads:
        if not upload.mime:
            problems.append(f"图片 {upload.filename} 不是 JPG、PNG 或 GIF 图片")
        elif len(upload.data) > IMAGE_MAX_BYTES:
            problems.append(f"图片 {upload.filename} 超过 5 MB")
    return problems


def _upload(file: FileStorage) -> _Upload:
    data = file.read()
    kind = sniff_image(data)
    return _Upload(file.filename or "image", MIME_BY_KIND[kind] if kind else "", data)
