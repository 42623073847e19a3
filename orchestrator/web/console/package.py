"""Assisted channels in the console: the publish package (发布包) a person publishes from by
hand, the signed record of the article's URL, and the take-down to-do.

GET  /work/package/{pub_id}                 the package: text to paste, images, limits, 审批表
GET  /work/package/{pub_id}/images.zip      every image at its original resolution
GET  /work/package/{pub_id}/images/{sha}    one image
POST /work/package/{pub_id}/published       URL and id recorded (signed), page verified at once
POST /work/package/{pub_id}/taken-down      the page verified gone ends the take-down
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.item import IMAGE_SRC_PREFIX, Item
from channels.rendering import clean_html, text_of
from orchestrator.blobs import sniff_mime
from orchestrator.errors import Conflict, Forbidden, NotFound, SanshenError
from orchestrator.models import ArchiveEntry, Publication
from orchestrator.permissions import PERMISSIONS, holds, person_by_username
from orchestrator.render import render
from orchestrator.services import manual, verification
from orchestrator.services.hub import ChannelHub
from orchestrator.services.publishing import get_publication
from orchestrator.states import State
from orchestrator.web.auth import Principal
from orchestrator.web.console.common import FormText, Who, flash_outcome
from orchestrator.web.deps import RowId, get_app, publisher
from orchestrator.web.downloads import attachment
from orchestrator.web.templating import flash, page

router = APIRouter(include_in_schema=False)
SHA = re.compile(r"^[0-9a-f]{64}$")
# The package exists once the gate let the row go to a person (and stays for reference).
PACKAGE_STATES = frozenset(
    s.value for s in (State.MANUAL, State.PUBLISHED, State.TAKEDOWN, State.RETRACTED)
)


@dataclass(frozen=True)
class PackageImage:
    sha256: str
    filename: str
    size: int
    mime: str


def _hub() -> ChannelHub:
    return publisher().hub


def paste_html(item: Item, pub_id: int) -> str:
    """The body as a CMS editor takes it: stored-image references become this package's image
    addresses (the clerk uploads the images themselves from the package)."""
    return re.sub(
        re.escape(IMAGE_SRC_PREFIX) + r"([0-9a-f]{64})",
        lambda m: f"/work/package/{pub_id}/images/{m.group(1)}",
        clean_html(item.body_html),  # shown inline on the package page: the allow-list only
    )


def plain_text(body_html: str) -> str:
    """The body as plain paragraphs, one per line (for editors that take text only)."""
    marked = re.sub(r"(?i)<br\s*/?>|</(p|h[1-6]|li|tr|blockquote|section)>", "\n", body_html)
    lines = (line.strip() for line in text_of(marked).splitlines())
    return "\n".join(line for line in lines if line)


def _images(item: Item) -> list[PackageImage]:
    seen, out = set(), []
    for image in (*item.images, *((item.cover,) if item.cover else ())):
        if image.sha256 not in seen:
            seen.add(image.sha256)
            out.append(PackageImage(image.sha256, image.filename, len(image.data), image.mime))
    return out


def _may(session: Session, who: Principal, pub: Publication, hub: ChannelHub) -> bool:
    person = person_by_username(session, who.username)
    kind = hub.classes[pub.channel].kind
    now = datetime.now(UTC)
    return any(
        holds(person, PERMISSIONS.get((action, kind), frozenset()), now)
        for action in ("publish_by_hand", "retract", "verify")
    )


def package_context(session: Session, pub_id: int, who: Principal) -> dict[str, Any]:
    app, hub = get_app(), _hub()
    pub = get_publication(session, pub_id)
    if not _may(session, who, pub, hub):
        raise Forbidden("发布包只向负责该渠道发布的人员开放", code="not_permitted")
    if pub.state not in PACKAGE_STATES:
        raise Conflict(
            f"发布 {pub_id} 当前为“{State(pub.state).label}”：发布包只在通过闸门复核、"
            "待人工发布之后提供",
            code="no_package",
        )
    item = render(pub.version, pub.channel, reference=f"P{pub.id}", store=app.blobs)
    form = session.scalar(
        select(ArchiveEntry)
        .where(ArchiveEntry.version_id == pub.version_id, ArchiveEntry.kind == "form_pdf")
        .order_by(ArchiveEntry.id.desc())
        .limit(1)
    )
    cls = hub.classes[pub.channel]
    return {
        "pub": pub,
        "item": item,
        "kind": cls.kind.value,
        "display_name": cls.display_name,
        "paste_html": paste_html(item, pub.id),
        "plain_text": plain_text(item.body_html),
        "images": _images(item),
        "problems": hub.problems(pub.channel, item),
        "form_entry": form,
        "hosts": hub.page_hosts(pub.channel),
        "actions": manual.actions(app, pub.id),
        "checks": {pub.id: verification.history(session, pub.id, limit=10)},
    }


@router.get("/work/package/{pub_id}", response_class=HTMLResponse)
async def package_page(request: Request, pub_id: RowId, who: Who) -> Response:
    def work() -> Response:
        with get_app().db.read() as session:
            context = package_context(session, pub_id, who)
            return page(request, "work_package.html", who, **context)

    return await run_in_threadpool(work)


def _package_item(pub_id: int, who: Principal) -> tuple[Item, Publication]:
    app, hub = get_app(), _hub()
    with app.db.read() as session:
        pub = get_publication(session, pub_id)
        if not _may(session, who, pub, hub):
            raise Forbidden("发布包只向负责该渠道发布的人员开放", code="not_permitted")
        if pub.state not in PACKAGE_STATES:
            raise Conflict(f"发布 {pub_id} 没有发布包", code="no_package")
        return render(pub.version, pub.channel, reference=f"P{pub.id}", store=app.blobs), pub


@router.get("/work/package/{pub_id}/images/{sha}")
def package_image(pub_id: RowId, sha: str, who: Who) -> Response:
    item, _ = _package_item(pub_id, who)
    found = next((i for i in _images(item) if i.sha256 == sha), None) if SHA.match(sha) else None
    data = get_app().blobs.get(sha) if found else None
    if found is None or data is None:
        raise NotFound(f"发布 {pub_id} 的发布包没有这张图片", code="image_not_found")
    return attachment(data, found.filename, sniff_mime(data), private=True)


@router.get("/work/package/{pub_id}/images.zip")
def package_zip(pub_id: RowId, who: Who) -> Response:
    item, pub = _package_item(pub_id, who)
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for n, image in enumerate(_images(item), start=1):
            data = get_app().blobs.get(image.sha256)
            if data is None:
                raise NotFound(f"图片 {image.filename} 的文件缺失", code="image_missing")
            name = f"{n:02d}-{image.filename}"
            while name in used:
                name = "_" + name
            used.add(name)
            archive.writestr(name, data)
    return attachment(buffer.getvalue(), f"发布包图片-发布{pub.id}.zip", "application/zip")


def _package_url(pub_id: int) -> str:
    return f"/work/package/{pub_id}"


@router.post("/work/package/{pub_id}/published")
async def package_published(
    request: Request,
    pub_id: RowId,
    who: Who,
    url: FormText = "",
    external_id: FormText = "",
    comment: FormText = "",
    password: FormText = "",
) -> Response:
    def work() -> tuple[str, str]:
        done = manual.record_published(
            get_app(),
            _hub(),
            pub_id,
            url=url,
            external_id=external_id,
            actor=who.username,
            password=password,
            comment=comment.strip(),
        )
        checked = done.checked
        if checked is None:
            return "已登记人工发布；页面核验暂未完成，稍后由巡检核验", "ok"
        if checked.verdict.value == "consistent":
            return "已登记人工发布，核验一致：线上页面与签发版本相同", "ok"
        return f"已登记人工发布，但核验{checked.verdict.label}：{checked.reason}", "error"

    try:
        message, kind = await run_in_threadpool(work)
    except SanshenError as refused:
        if isinstance(refused, Forbidden):
            raise
        error = refused
        typed = {"url": url, "external_id": external_id, "comment": comment}

        def again() -> Response:
            with get_app().db.read() as session:
                context = package_context(session, pub_id, who)
                return page(
                    request,
                    "work_package.html",
                    who,
                    STATUS.get(error.code, 400),
                    error=error.message,
                    typed=typed,
                    **context,
                )

        return await run_in_threadpool(again)
    return flash(RedirectResponse(_package_url(pub_id), status_code=303), message, kind)


STATUS = {"wrong_password": 403, "not_permitted": 403, "not_manual": 409, "state_changed": 409}


@router.post("/work/package/{pub_id}/taken-down")
async def package_taken_down(pub_id: RowId, who: Who) -> Response:
    def work() -> str:
        checked = manual.confirm_taken_down(get_app(), _hub(), pub_id, actor=who.username)
        if checked.state == State.RETRACTED.value:
            return "核验确认页面已删除，撤稿完成"
        if checked.verdict.value in ("consistent", "mismatch"):
            raise _NotYet(f"页面仍可访问（{checked.reason}），请在平台上撤下后再核验")
        raise _Unconfirmed(
            f"无法确认页面已删除（{checked.verdict.label}：{checked.reason}），请稍后再核验"
        )

    return await flash_outcome(work, _package_url(pub_id))


class _NotYet(SanshenError):
    code = "page_still_live"


class _Unconfirmed(SanshenError):
    code = "removal_unconfirmed"
