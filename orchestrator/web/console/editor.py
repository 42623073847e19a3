"""The submission form's editor (static/editor.js, Quill under static/vendor/quill): its
vendored files, the images it uploads (stored by hash, served back to signed-in people), and a
Word manuscript (.docx) read into title, body and warnings."""

from __future__ import annotations

import re
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from channels.rendering import sniff_image
from orchestrator import docx_import
from orchestrator.app import App
from orchestrator.blobs import sniff_mime
from orchestrator.errors import Forbidden, InvalidInput, NotFound
from orchestrator.images import image_problem
from orchestrator.models import Person
from orchestrator.permissions import WRITERS, holds
from orchestrator.services import submissions
from orchestrator.web.auth import Principal
from orchestrator.web.console.common import Who, person_of, utc_now
from orchestrator.web.console.editor_html import IMG_TAG, SUFFIXES, image_name, tag_attributes
from orchestrator.web.deps import get_app
from orchestrator.web.downloads import attachment
from orchestrator.web.templating import STATIC_DIR

router = APIRouter(include_in_schema=False)
VENDOR_DIR = STATIC_DIR / "vendor"
VENDOR_FILES = frozenset(
    f"{p.parent.name}/{p.name}"
    for p in VENDOR_DIR.glob("*/*")
    if p.is_file() and p.suffix in (".js", ".css")
)
Sha256 = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="SHA-256")]


@router.api_route("/static/vendor/{package}/{name}", methods=["GET", "HEAD"])
def vendored(package: str, name: str, _who: Who) -> Response:
    """The editor's vendored files (a fixed list, like /static/{name}: no path reaches the disk
    unless it is one of them), for the signed-in pages that use them: nothing but sign-in answers
    anonymously."""
    if f"{package}/{name}" not in VENDOR_FILES:
        raise NotFound(f"没有静态文件 {package}/{name}", code="static_not_found")
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    return Response(
        (VENDOR_DIR / package / name).read_bytes(),
        media_type=f"{kind}; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


def may_write(session: Session, who: Principal) -> Person:
    """The role the form's services require of whoever writes a manuscript (供稿人/编辑, 综合科);
    which department they may write for is checked when the draft is handed in."""
    person = person_of(session, who)
    if not holds(person, WRITERS, utc_now()):
        allowed = "、".join(sorted(r.label for r in WRITERS))
        raise Forbidden(f"{person.name}无权提交或修改稿件（需要：{allowed}）", code="not_permitted")
    return person


async def _one_file(request: Request, what: str) -> tuple[str, bytes]:
    """The form's `file`: its name and bytes."""
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput(f"请选择要上传的{what}", code="file_required")
    return upload.filename, await upload.read()


def store_image(session: Session, app: App, image: submissions.ImageFile) -> dict[str, str]:
    """Check and store one image by its hash; what the editor needs to show and name it."""
    problem = image_problem(image.filename, image.data)
    if problem is not None:
        raise InvalidInput(problem, code="image_invalid")
    sha = app.blobs.put(session, image.data).sha256
    name = image_name(image.filename, sha, image.data)
    return {"url": f"/work/uploads/{sha}", "sha256": sha, "filename": name}


@router.post("/work/uploads/image")
async def upload_image(request: Request, who: Who) -> JSONResponse:
    """An image inserted in the editor: stored by hash, answered with its URL."""
    image = submissions.ImageFile(*await _one_file(request, "图片文件"))

    def work() -> dict[str, str]:
        app = get_app()
        with app.db.session() as session:
            may_write(session, who)
            return store_image(session, app, image)

    return JSONResponse(await run_in_threadpool(work))


@router.get("/work/uploads/{sha}")
def uploaded_image(sha: Sha256, who: Who) -> Response:
    """An image stored by hash (the editor's uploads, a submission's images), for a signed-in
    person; nothing else the store holds."""
    data = get_app().blobs.get(sha)
    kind = sniff_image(data) if data is not None else None
    if data is None or kind is None:
        raise NotFound("没有这张图片", code="image_not_found")
    return attachment(data, f"图片-{sha[:12]}{SUFFIXES[kind][0]}", sniff_mime(data), private=True)


def for_editor(session: Session, app: App, manuscript: docx_import.Manuscript) -> dict[str, Any]:
    """A Word manuscript as the editor takes it: its images stored (a bad one left out with a
    warning), their srcs pointing at /work/uploads/."""
    warnings = list(manuscript.warnings)
    body = manuscript.body_html
    shown: dict[str, dict[str, str]] = {}
    for image in manuscript.images:
        try:
            shown[image.filename] = store_image(session, app, image)
        except InvalidInput as refused:
            warnings.append(f"{refused.message}，已略去")

    def point(match: re.Match[str]) -> str:
        attributes = tag_attributes(match.group(0))
        src = next((value for name, value, _ in attributes if name == "src"), "")
        stored = shown.get(src)
        if stored is None:
            return "" if src in {i.filename for i in manuscript.images} else match.group(0)
        kept = [w for n, _, w in attributes if n not in ("src", "data-filename")]
        return (
            f'<img src="{stored["url"]}" data-filename="{escape(stored["filename"])}"'
            + "".join(kept)
            + ">"
        )

    return {
        "title": manuscript.title,
        "body_html": IMG_TAG.sub(point, body),
        "warnings": warnings,
    }


@router.post("/work/uploads/docx")
async def upload_docx(request: Request, who: Who) -> JSONResponse:
    """A Word manuscript (.docx) read for the form: title, body for the editor, warnings."""
    filename, data = await _one_file(request, "Word 文档（.docx）")

    def work() -> dict[str, Any]:
        app = get_app()
        with app.db.read() as session:
            may_write(session, who)
        manuscript = docx_import.read_manuscript(data, filename)  # no transaction held meanwhile
        with app.db.session() as session:
            return for_editor(session, app, manuscript)

    return JSONResponse(await run_in_threadpool(work))
