"""Console pages for the work itself: new submissions, 我的待办, review and sign-off, the
upward queue.

Every rule lives in the services; these handlers read the form, call the service the CLI calls,
and show the service's Chinese refusal on the same page with what the person typed kept.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from html import escape, unescape
from pathlib import PurePosixPath
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from channels.base import ChannelKind
from channels.registry import load_channels
from channels.rendering import sniff_image
from gate.model import ChannelRequest, Decision, RepostSource, ReviewStage, Role
from gate.rules import ReviewContext
from orchestrator import docx_import
from orchestrator.app import App
from orchestrator.blobs import sniff_mime
from orchestrator.errors import Forbidden, InvalidInput, NotFound, SanshenError
from orchestrator.images import image_problem
from orchestrator.models import (
    Department,
    Person,
    Publication,
    Submission,
    Version,
)
from orchestrator.permissions import PERMISSIONS, WRITERS, holds, require
from orchestrator.services import deadlines, prechecks, reposts, review, submissions
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.org import person_by_username
from orchestrator.services.publishing import Publisher, get_publication
from orchestrator.states import State
from orchestrator.web import auth
from orchestrator.web.auth import Principal
from orchestrator.web.deps import RowId, get_app, principal
from orchestrator.web.downloads import attachment
from orchestrator.web.pages import OVERDUE_GRACE, ordered_channels
from orchestrator.web.templating import STATIC_DIR, flash, local, page

router = APIRouter(include_in_schema=False)

SHANGHAI = ZoneInfo("Asia/Shanghai")
Who = Annotated[Principal, Depends(principal)]


def _now() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return _now().astimezone(SHANGHAI).date()


def _status(error: SanshenError) -> int:
    from orchestrator.web.refusals import STATUS_BY_ERROR

    for cls in type(error).__mro__:
        code = STATUS_BY_ERROR.get(getattr(cls, "code", ""))
        if code is not None:
            return code
    return 400


def _me(session: Session, who: Principal) -> Person:
    return person_by_username(session, who.username)


# --- 我的待办 ---------------------------------------------------------------------------------


@dataclass
class Waiting:
    submission: Submission
    stage: ReviewStage
    aids: list[dict[str, str]]
    problems: list[dict[str, Any]]
    wait: deadlines.Wait | None = None


def waiting_stage(sub: Submission, person: Person, app: App, now: datetime) -> ReviewStage | None:
    """The stage of `sub` that waits for `person`, or None (services/deadlines.may_act)."""
    context = ReviewContext(review.review_record(sub), app.policy, now)
    return context.next_stage() if deadlines.may_act(sub, person, context, now) else None


def aids_for(session: Session, app: App, sub_id: int, hub: ChannelHub) -> dict[str, Any]:
    verdict, _waiting, aids = review.check(
        session,
        sub_id,
        policy=app.policy,
        store=app.blobs,
        sensitive_words=app.sensitive_words,
    )
    return {
        "verdict": verdict,
        "aids": aids,
        "problems": prechecks.channel_problems(session, app, sub_id, hub),
    }


def todo_lists(session: Session, app: App, who: Principal) -> dict[str, Any]:
    now = _now()
    person = _me(session, who)
    hub = ChannelHub()
    waiting: list[Waiting] = []
    returned: list[deadlines.Returned] = []
    for sub in session.scalars(deadlines.open_submissions()):
        back = deadlines.returned_to(sub) if sub.author_id == person.id else None
        if back is not None:
            returned.append(back)
            continue
        context = ReviewContext(review.review_record(sub), app.policy, now)
        if not deadlines.may_act(sub, person, context, now):
            continue
        wait = deadlines.wait_of(sub, context, app.settings)
        found = aids_for(session, app, sub.id, hub)
        stage = context.next_stage()
        assert stage is not None
        waiting.append(Waiting(sub, stage, found["aids"], found["problems"], wait))
    return {
        "waiting": waiting,
        "returned": returned,
        "now": now,
        "by_hand": by_hand(session, person, now),
        "now_minus_grace": now - OVERDUE_GRACE,
    }


def by_hand(session: Session, person: Person, now: datetime) -> list[Publication]:
    """Rows of assisted channels waiting for this person: to publish by hand (待人工发布) or to
    take down (待人工撤下), on the channels their role publishes."""
    kinds = {name: cls.kind for name, cls in load_channels().items()}

    def may(action: str, channel: str) -> bool:
        kind = kinds.get(channel)
        return kind is not None and holds(person, PERMISSIONS.get((action, kind), frozenset()), now)

    rows = session.scalars(
        select(Publication)
        .where(Publication.state.in_([State.MANUAL.value, State.TAKEDOWN.value]))
        .order_by(Publication.scheduled_at, Publication.id)
        .limit(200)
    ).all()
    return [
        p
        for p in rows
        if may("publish_by_hand" if p.state == State.MANUAL.value else "retract", p.channel)
    ]


@router.get("/todo", response_class=HTMLResponse)
async def todo_page(request: Request, who: Who) -> Response:
    def work() -> Response:
        app = get_app()
        with app.db.read() as session:
            lists = todo_lists(session, app, who)
            return page(request, "work_todo.html", who, **lists)

    return await run_in_threadpool(work)


# --- the submission form ----------------------------------------------------------------------


@dataclass
class Row:
    channel: str = ""
    publish_date: str = ""
    remark: str = ""


@dataclass
class FormValues:
    """What the person typed, kept to show again when the services refuse it."""

    title: str = ""
    body: str = ""
    digest: str = ""
    byline: str = ""
    department: str = ""
    major_event: bool = False
    special_content: bool = False
    urgent: bool = False
    rows: list[Row] = field(default_factory=list)
    repost_platform: str = ""
    repost_url: str = ""
    repost_time: str = ""
    keep_images: list[str] = field(default_factory=list)
    keep_cover: bool = False
    autofix: bool = False


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _texts(form: FormData, name: str) -> list[str]:
    return [v if isinstance(v, str) else "" for v in form.getlist(name)]


def values_from_form(form: FormData) -> FormValues:
    channels, dates, remarks = (_texts(form, n) for n in ("channel", "publish_date", "remark"))
    rows = [
        Row(c.strip(), d.strip(), r.strip())
        for c, d, r in zip(channels, dates, remarks, strict=False)
    ]
    return FormValues(
        title=_text(form, "title"),
        body=_text(form, "body"),
        digest=_text(form, "digest"),
        byline=_text(form, "byline"),
        department=_text(form, "department"),
        major_event=bool(form.get("major_event")),
        special_content=bool(form.get("special_content")),
        urgent=bool(form.get("urgent")),
        rows=rows,
        repost_platform=_text(form, "repost_platform").strip(),
        repost_url=_text(form, "repost_url").strip(),
        repost_time=_text(form, "repost_time").strip(),
        keep_images=_texts(form, "keep_image"),
        keep_cover=bool(form.get("keep_cover")),
        autofix=bool(form.get("autofix")),
    )


def values_from_version(version: Version) -> FormValues:
    body = version.body_html
    for image in version.images:
        body = body.replace(submissions.IMAGE_SRC_PREFIX + image.sha256, image.filename)
    published = version.repost_published_at
    return FormValues(
        title=version.title,
        body=body,
        digest=version.digest,
        byline=version.byline,
        department=version.submission.department.code,
        major_event=version.major_event,
        special_content=version.special_content,
        rows=[Row(c.channel, c.publish_date.isoformat(), c.remark) for c in version.channels],
        repost_platform=version.repost_platform or "",
        repost_url=version.repost_url or "",
        repost_time=published.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") if published else "",
        keep_images=[i.sha256 for i in version.images],
        keep_cover=version.cover_sha256 is not None,
    )


def rows_of(
    values: FormValues, catalogue: dict[str, str]
) -> tuple[list[ChannelRequest], list[str]]:
    """The 审批表 rows the person filled in, and what is wrong with them (all at once)."""
    found: list[ChannelRequest] = []
    problems: list[str] = []
    for number, row in enumerate(values.rows, start=1):
        if not (row.channel or row.remark):
            continue
        if not row.channel:
            problems.append(f"审批表第 {number} 行未选择发布形式")
            continue
        try:
            when = date.fromisoformat(row.publish_date)
        except ValueError:
            problems.append(f"审批表第 {number} 行的发布日期“{row.publish_date}”无效")
            continue
        name = submissions.resolve_channel(row.channel, catalogue)
        found.append(ChannelRequest(name, when, row.remark))
    return found, problems


def repost_of(values: FormValues) -> tuple[RepostSource | None, list[str]]:
    given = (values.repost_platform, values.repost_url, values.repost_time)
    if not any(given):
        return None, []
    if not all(given):
        return None, ["转载来源须同时填写平台、网址和首发时间"]
    try:
        when = datetime.fromisoformat(values.repost_time)
    except ValueError:
        return None, [f"转载首发时间“{values.repost_time}”无效"]
    when = when if when.tzinfo else when.replace(tzinfo=SHANGHAI)
    return RepostSource(values.repost_platform, values.repost_url, when), []


@dataclass
class Uploads:
    images: list[submissions.ImageFile]
    cover: submissions.ImageFile | None


async def uploads_of(form: FormData) -> Uploads:
    async def read(item: Any) -> submissions.ImageFile | None:
        if not isinstance(item, UploadFile) or not item.filename:
            return None
        return submissions.ImageFile(item.filename, await item.read())

    images = [f for f in [await read(i) for i in form.getlist("images")] if f is not None]
    return Uploads(images, await read(form.get("cover")))


def _image_problems(uploads: Uploads) -> list[str]:
    named = [*uploads.images, *([uploads.cover] if uploads.cover else [])]
    return [p for f in named if (p := image_problem(f.filename, f.data)) is not None]


def build_draft(
    values: FormValues, uploads: Uploads, kept: Version | None, app: App
) -> submissions.Draft:
    """The Draft the services take; every problem of the form itself reported together."""
    catalogue = submissions.channel_catalogue()
    channels, problems = rows_of(values, catalogue)
    repost, repost_problems = repost_of(values)
    problems += repost_problems + _image_problems(uploads)
    images, cover = list(uploads.images), uploads.cover
    if kept is not None:
        images = kept_images(kept, values, app) + images
        if cover is None and values.keep_cover and kept.cover_sha256:
            cover = submissions.ImageFile("cover", _blob(app, kept.cover_sha256, "封面"))
    body, inserted, missing = editor_images(values.body, images, app)
    problems += missing + _image_problems(Uploads(inserted, None))
    if problems:
        raise InvalidInput("稿件有误：" + "；".join(problems), code="invalid_form")
    return submissions.Draft(
        title=values.title,
        body_html=body,
        channels=channels,
        images=images + inserted,
        cover=cover,
        digest=values.digest.strip(),
        byline=values.byline.strip(),
        major_event=values.major_event,
        special_content=values.special_content,
        repost=repost,
        autofix=values.autofix,
    )


def kept_images(version: Version, values: FormValues, app: App) -> list[submissions.ImageFile]:
    return [
        submissions.ImageFile(i.filename, _blob(app, i.sha256, i.filename))
        for i in version.images
        if i.sha256 in values.keep_images
    ]


def _blob(app: App, sha: str, name: str) -> bytes:
    data = app.blobs.get(sha)
    if data is None:
        raise InvalidInput(f"原有图片“{name}”在存储中缺失，请重新上传", code="image_missing")
    return data


def form_context(session: Session, who: Principal, values: FormValues) -> dict[str, Any]:
    catalogue = submissions.channel_catalogue()
    rows = list(values.rows)
    rows += [Row() for _ in range(max(0, len(catalogue) - len(rows)))]
    if not any(r.channel or r.publish_date for r in rows):
        rows[0].publish_date = _today().isoformat()
    for row in rows:
        row.publish_date = row.publish_date or ""
    if not values.department:
        person = _me(session, who)
        values.department = person.department.code if person.department else ""
    return {
        "values": values,
        "rows": rows,
        "catalogue": catalogue,
        "departments": list(session.scalars(select(Department).order_by(Department.id))),
        "today": _today().isoformat(),
        "urgent_hours": f"{get_app().settings.stage_urgent_hours:g}",
    }


def may_revise(session: Session, sub: Submission, who: Principal) -> None:
    person = _me(session, who)
    if sub.author_id == person.id or holds(person, frozenset({Role.CONTRIBUTOR}), _now()):
        return
    raise Forbidden(f"{person.name}不是该稿件的作者，也不是编辑，不能修改", code="not_author")


def _form_page(
    request: Request,
    who: Principal,
    values: FormValues,
    *,
    sub_id: int | None,
    error: SanshenError | None = None,
) -> Response:
    app = get_app()
    with app.db.read() as session:
        current = submissions.get(session, sub_id) if sub_id is not None else None
        context = form_context(session, who, values)
        return page(
            request,
            "work_submission_form.html",
            who,
            status_code=_status(error) if error else 200,
            submission=current,
            version=current.current if current else None,
            error=error,
            details=error_details(error),
            **context,
        )


def error_details(error: SanshenError | None) -> list[str]:
    if error is None or error.code not in ("invalid_draft", "invalid_form"):
        return []
    _, _, rest = error.message.partition("：")
    return [p for p in rest.split("；") if p]


@router.get("/submissions/new", response_class=HTMLResponse)
async def new_form(request: Request, who: Who) -> Response:
    return await run_in_threadpool(_form_page, request, who, FormValues(), sub_id=None)


@router.post("/submissions/new", response_class=HTMLResponse)
async def new_submit(request: Request, who: Who) -> Response:
    form = await request.form()
    values, uploads = values_from_form(form), await uploads_of(form)

    def work() -> int:
        app = get_app()
        draft = build_draft(values, uploads, None, app)
        with app.db.session() as session:
            created = submissions.create(
                session,
                app.blobs,
                author=who.username,
                department=values.department,
                draft=draft,
                urgent=values.urgent,
            )
            return created.id

    try:
        sub_id = await run_in_threadpool(work)
    except SanshenError as error:
        return await run_in_threadpool(_form_page, request, who, values, sub_id=None, error=error)
    return flash(RedirectResponse("/todo", status_code=303), f"稿件 {sub_id} 已提交，等待初审")


@router.get("/submissions/{sub_id}/revise", response_class=HTMLResponse)
async def revise_form(request: Request, sub_id: RowId, who: Who) -> Response:
    def work() -> Response:
        with get_app().db.read() as session:
            sub = submissions.get(session, sub_id)
            may_revise(session, sub, who)
            values = values_from_version(sub.current)
        return _form_page(request, who, values, sub_id=sub_id)

    return await run_in_threadpool(work)


@router.post("/submissions/{sub_id}/revise", response_class=HTMLResponse)
async def revise_submit(request: Request, sub_id: RowId, who: Who) -> Response:
    form = await request.form()
    values, uploads = values_from_form(form), await uploads_of(form)

    def work() -> int:
        app = get_app()
        with app.db.session() as session:
            sub = submissions.get(session, sub_id)
            may_revise(session, sub, who)
            draft = build_draft(values, uploads, sub.current, app)
            version = submissions.revise(
                session, app.blobs, sub_id, editor=who.username, draft=draft
            )
            return version.number

    try:
        number = await run_in_threadpool(work)
    except SanshenError as error:
        if isinstance(error, NotFound):
            raise
        return await run_in_threadpool(_form_page, request, who, values, sub_id=sub_id, error=error)
    return flash(
        RedirectResponse("/todo", status_code=303),
        f"稿件 {sub_id} 已生成第 {number} 版，此前的审核意见不再有效，须重新审核",
    )


@router.get("/submissions/{sub_id}/images/{sha}")
def submission_image(sub_id: RowId, sha: str, who: Who) -> Response:
    """An image of one of the submission's versions, for the review preview."""
    app = get_app()
    with app.db.read() as session:
        sub = submissions.get(session, sub_id)
        names = {v.cover_sha256: "封面" for v in sub.versions if v.cover_sha256}
        names |= {i.sha256: i.filename for v in sub.versions for i in v.images}
    data = app.blobs.get(sha) if sha in names else None
    if data is None:
        raise NotFound(f"稿件 {sub_id} 没有这张图片", code="image_not_found")
    # An <img> shows it; opened on its own it is a download, never a page of this site.
    return attachment(data, names[sha], sniff_mime(data), private=True)


# --- the form's editor: vendored scripts, image and Word uploads, its image srcs ---------------
#
# The editor (static/editor.js, Quill under static/vendor/quill) writes the body into the form's
# `body` field. An image it inserts is uploaded first and stored by hash; the body names it by
# `/work/uploads/<sha256>` (or, on the revise form, by the submission's own image route), and
# `editor_images` turns each such <img> into an ImageFile of the draft, the src into its file
# name, so the submission service stores it exactly like a file chosen under 正文图片.

VENDOR_DIR = STATIC_DIR / "vendor"
VENDOR_FILES = frozenset(
    f"{p.parent.name}/{p.name}"
    for p in VENDOR_DIR.glob("*/*")
    if p.is_file() and p.suffix in (".js", ".css")
)
Sha256 = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="SHA-256")]
EDITOR_SRC = re.compile(r"/(?:work/uploads|submissions/[0-9]{1,10}/images)/([0-9a-f]{64})")
IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
TAG_ATTRIBUTE = re.compile(r"""\s([^\s"'<>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
UNSAFE_IN_NAME = re.compile(r"""[\x00-\x1f\x7f"'<>&\\/:*?|]""")
SUFFIXES = {"jpeg": (".jpg", ".jpeg"), "png": (".png",), "gif": (".gif",)}


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
    person = _me(session, who)
    if not holds(person, WRITERS, _now()):
        allowed = "、".join(sorted(r.label for r in WRITERS))
        raise Forbidden(f"{person.name}无权提交或修改稿件（需要：{allowed}）", code="not_permitted")
    return person


def image_name(wanted: str, sha: str, data: bytes) -> str:
    """A file name safe to stand in an src: the one given, without a path or characters HTML
    would escape, with an extension of what the bytes are; 图片-<sha[:12]> when none is left."""
    suffixes = SUFFIXES.get(sniff_image(data) or "", ())
    name = PurePosixPath(UNSAFE_IN_NAME.sub("", PurePosixPath(wanted.replace("\\", "/")).name))
    stem = name.stem.strip()[:100]
    if not stem or stem.startswith("."):
        stem = f"图片-{sha[:12]}"
    suffix = name.suffix.lower()
    if suffixes and suffix not in suffixes:
        suffix = suffixes[0]
    return stem + suffix


def _attributes(tag: str) -> list[tuple[str, str, str]]:
    """(name, value, as written) of each attribute of one tag."""
    found = []
    for match in TAG_ATTRIBUTE.finditer(tag[4:-1]):
        raw = match.group(2) or ""
        value = raw[1:-1] if raw[:1] in "\"'" else raw
        found.append((match.group(1).lower(), unescape(value), match.group(0)))
    return found


def editor_images(
    body: str, present: list[submissions.ImageFile], app: App
) -> tuple[str, list[submissions.ImageFile], list[str]]:
    """The body with each editor image (`/work/uploads/<sha>`, `/submissions/<id>/images/<sha>`)
    named by a file name instead; the image files to add for them (one per content, none for
    one already in `present` under the same name); what is missing from the store."""
    taken = {f.filename: hashlib.sha256(f.data).hexdigest() for f in present}
    added: list[submissions.ImageFile] = []
    missing: list[str] = []

    def rename(match: re.Match[str]) -> str:
        attributes = _attributes(match.group(0))
        src = next((value for name, value, _ in attributes if name == "src"), "")
        found = EDITOR_SRC.fullmatch(src)
        if found is None:
            return match.group(0)
        sha = found.group(1)
        data = app.blobs.get(sha)
        if data is None:
            missing.append(f"正文中的图片（{sha[:12]}）在存储中找不到，请重新插入")
            return match.group(0)
        wanted = next((v for n, v, _ in attributes if n == "data-filename"), "")
        name = image_name(wanted, sha, data)
        if taken.get(name, sha) != sha:
            name = image_name(f"{PurePosixPath(name).stem}-{sha[:8]}", sha, data)
        if name not in taken:
            taken[name] = sha
            added.append(submissions.ImageFile(name, data))
        kept = [
            f' src="{escape(name)}"' if n == "src" else written
            for n, _, written in attributes
            if n != "data-filename"
        ]
        return "<img" + "".join(kept) + ">"

    return IMG_TAG.sub(rename, body), added, missing


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
        attributes = _attributes(match.group(0))
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


# --- review and sign-off ---------------------------------------------------------------------

DECISIONS = {d.value: d for d in Decision}


def preview_html(sub: Submission) -> str:
    """The body with stored-image srcs pointing at this submission's image route. It is shown
    in a sandboxed frame without scripts: the body is the author's HTML."""
    return re.sub(
        re.escape(submissions.IMAGE_SRC_PREFIX) + r"([0-9a-f]{64})",
        lambda m: f"/submissions/{sub.id}/images/{m.group(1)}",
        sub.current.body_html,
    )


@dataclass
class UsageRow:
    """One channel on 稿件用途's form: whether the item goes there, on which day, with what note."""

    channel: str
    label: str
    upward: bool
    chosen: bool
    day: str  # ISO text: what was typed is shown again as typed
    remark: str


def usage_rows(version: Version) -> list[UsageRow]:
    """Every registered channel, own platforms first, prefilled from the department's rows."""
    asked = {c.channel: c for c in version.channels}
    default_day = min((c.publish_date for c in version.channels), default=_now().date())
    classes = load_channels()
    return [
        UsageRow(
            channel=name,
            label=classes[name].display_name,
            upward=classes[name].kind is ChannelKind.UPWARD,
            chosen=name in asked,
            day=(asked[name].publish_date if name in asked else default_day).isoformat(),
            remark=asked[name].remark if name in asked else "",
        )
        for name in ordered_channels()
    ]


def usage_typed(form: FormData, rows: list[UsageRow]) -> list[UsageRow]:
    """The form's rows as they were typed, to show again when the decision was refused."""
    ticked = set(form.getlist("use"))
    return [
        replace(
            row,
            chosen=row.channel in ticked,
            day=_text(form, f"date-{row.channel}"),
            remark=_text(form, f"remark-{row.channel}"),
        )
        for row in rows
    ]


def usage_decided(form: FormData) -> list[ChannelRequest]:
    """The rows 稿件用途's form decides: each ticked channel with its day and note."""
    known = load_channels()
    rows = []
    for name in form.getlist("use"):
        if not isinstance(name, str) or name not in known:
            raise InvalidInput(f"未知发布渠道“{name}”", code="unknown_channel")
        day_text = _text(form, f"date-{name}")
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            label = known[name].display_name
            raise InvalidInput(
                f"{label} 的发布日期无效：{day_text or '未填写'}", code="bad_date"
            ) from None
        rows.append(ChannelRequest(name, day, _text(form, f"remark-{name}").strip()))
    if not rows:
        raise InvalidInput("请至少选择一个发布形式（对上报送或本单位平台）", code="no_channels")
    return rows


def review_context(session: Session, app: App, sub_id: int, who: Principal) -> dict[str, Any]:
    now = _now()
    sub = submissions.get(session, sub_id)
    person = _me(session, who)
    context = ReviewContext(review.review_record(sub), app.policy, now)
    stage = context.next_stage()
    mine = waiting_stage(sub, person, app, now)
    roles = review.who_may(stage, sub.department.name, app.policy) if stage else ""
    current = sub.current
    return {
        "submission": sub,
        "version": current,
        "stage": stage,
        "may_act": mine is not None,
        "stage_roles": roles,
        "carried": review.carried(sub, context),
        "usage_rows": usage_rows(current) if stage is ReviewStage.USAGE else [],
        "preview": preview_html(sub),
        "actions": [
            {
                "row": a,
                "stage": ReviewStage(a.stage).label,
                "decision": Decision(a.decision).label,
                "current": a.fingerprint == current.fingerprint,
            }
            for a in sub.actions
        ],
        "publications": list(
            session.scalars(
                select(Publication)
                .where(Publication.version_id == current.id)
                .order_by(Publication.id)
            )
        ),
        "decisions": list(Decision),
        **aids_for(session, app, sub_id, ChannelHub()),
    }


def _review_page(
    request: Request,
    who: Principal,
    sub_id: int,
    *,
    error: SanshenError | None = None,
    typed: dict[str, str] | None = None,
    form: FormData | None = None,
) -> Response:
    app = get_app()
    with app.db.read() as session:
        context = review_context(session, app, sub_id, who)
        if form is not None and context["usage_rows"] and _text(form, "stage") == "usage":
            context["usage_rows"] = usage_typed(form, context["usage_rows"])
        return page(
            request,
            "work_review.html",
            who,
            status_code=_status(error) if error else 200,
            error=error,
            typed=typed or {},
            **context,
        )


@router.get("/submissions/{sub_id}/review", response_class=HTMLResponse)
async def review_form(request: Request, sub_id: RowId, who: Who) -> Response:
    return await run_in_threadpool(_review_page, request, who, sub_id)


def record_decision(
    sub_id: int,
    who: Principal,
    stage: ReviewStage,
    decision: Decision,
    comment: str,
    pw: str,
    rows: list[ChannelRequest] | None = None,
) -> review.Outcome:
    app = get_app()
    with auth.signing_guard(app.db, who.username, app.settings), app.db.session() as session:
        return review.review(
            session,
            sub_id,
            stage=stage,
            decision=decision,
            actor=who.username,
            password=pw,
            policy=app.policy,
            default_publish_time=app.settings.default_publish_time,
            comment=comment,
            app=app,  # archives the signed form at sign-off
            rows=rows,
        )


def _parse_review(form: FormData) -> tuple[ReviewStage, Decision]:
    try:
        stage = ReviewStage(_text(form, "stage"))
    except ValueError:
        raise InvalidInput("缺少审核环节，请刷新页面后重试", code="unknown_stage") from None
    decision = DECISIONS.get(_text(form, "decision"))
    if decision is None:
        raise InvalidInput("请选择审核结论：通过、退回或驳回", code="decision_required")
    if decision is not Decision.APPROVE and not _text(form, "comment").strip():
        raise InvalidInput(f"{decision.label}时请填写审核意见", code="comment_required")
    return stage, decision


def _done_message(sub_id: int, stage: ReviewStage, decision: Decision, out: Any) -> str:
    said = f"稿件 {sub_id}：已记录{stage.label}{decision.label}"
    if out.verdict.passed:
        return said + "。审核闸门通过，已生成各渠道发布计划"
    if out.waiting is not None:
        return said + f"，下一步：{out.waiting.label}"
    return said


@router.post("/submissions/{sub_id}/review", response_class=HTMLResponse)
async def review_submit(request: Request, sub_id: RowId, who: Who) -> Response:
    form = await request.form()
    comment = _text(form, "comment")
    typed = {"decision": _text(form, "decision"), "comment": comment}
    try:
        stage, decision = _parse_review(form)
        usage = stage is ReviewStage.USAGE and decision is Decision.APPROVE
        rows = usage_decided(form) if usage else None
        outcome = await run_in_threadpool(
            record_decision, sub_id, who, stage, decision, comment, _text(form, "password"), rows
        )
    except SanshenError as error:
        if isinstance(error, NotFound):
            raise
        return await run_in_threadpool(
            _review_page, request, who, sub_id, error=error, typed=typed, form=form
        )
    target = f"/items/{sub_id}" if outcome.verdict.passed else "/todo"
    message = _done_message(sub_id, stage, decision, outcome)
    return flash(RedirectResponse(target, status_code=303), message)


# --- 综合科: the upward queue and reposts --------------------------------------------------------


def upward_channels() -> list[str]:
    return [n for n, c in load_channels().items() if c.kind is ChannelKind.UPWARD]


def upward_status(pub: Publication) -> str:
    return {
        "submitted": "已报送，待上级平台采用",
        "published": "已采用",
        "failed": "未采用" if pub.sent_at else "报送失败",
    }.get(pub.state, "")


def upward_context(session: Session, who: Principal) -> dict[str, Any]:
    now = _now()
    person = _me(session, who)
    pubs = list(
        session.scalars(
            select(Publication)
            .where(Publication.channel.in_(upward_channels()))
            .order_by(Publication.scheduled_at.desc(), Publication.id.desc())
            .limit(500)
        )
    )
    # one repost per original (whichever platform adopted first): keyed by the original
    by_origin = {
        s.repost_origin_id: s
        for s in session.scalars(select(Submission).where(Submission.repost_origin_id.is_not(None)))
    }
    held = list(
        session.scalars(
            select(Publication)
            .where(Publication.state == State.HELD.value)
            .order_by(Publication.hold_until, Publication.id)
            .limit(500)
        )
    )
    repost_ids = [s.id for s in by_origin.values()]
    deciding = [
        sub
        for sub in session.scalars(deadlines.open_submissions().limit(500))
        if ReviewContext(review.review_record(sub), get_app().policy, now).next_stage()
        is ReviewStage.USAGE
    ]
    return {
        "deciding": deciding,
        "rows": [
            {"pub": p, "status": upward_status(p), "repost": by_origin.get(p.submission_id)}
            for p in pubs
        ],
        "held": held,
        "now": now,
        "reposts": sorted(by_origin.values(), key=lambda s: s.id, reverse=True),
        # reposts nothing of which has begun to go out: their source may still change
        "citable": set(repost_ids) - reposts.started(session, repost_ids),
        "may_confirm": holds(person, PERMISSIONS[("confirm", ChannelKind.UPWARD)], now),
        "may_repost": holds(person, PERMISSIONS[("repost", ChannelKind.UPWARD)], now),
        "may_release": holds(person, PERMISSIONS[("release", ChannelKind.OWN)], now),
    }


@router.get("/upward", response_class=HTMLResponse)
async def upward_page(request: Request, who: Who) -> Response:
    def work() -> Response:
        with get_app().db.read() as session:
            return page(request, "work_upward.html", who, **upward_context(session, who))

    return await run_in_threadpool(work)


def _publisher() -> Publisher:
    return Publisher(get_app(), ChannelHub(), MemoryRateGate())


async def _upward_action(action: Callable[[], str]) -> Response:
    try:
        message, kind = await run_in_threadpool(action), "ok"
    except SanshenError as error:
        if isinstance(error, Forbidden):
            raise
        message, kind = error.message, "error"
    return flash(RedirectResponse("/upward", status_code=303), message, kind)


@router.post("/upward/{pub_id}/confirm")
async def upward_confirm(request: Request, pub_id: RowId, who: Who) -> Response:
    url = _text(await request.form(), "url").strip()

    def work() -> str:
        _publisher().confirm_by_hand(pub_id, url=url, actor=who.username)
        return f"发布 {pub_id} 已登记为上级平台采用：{url}"

    return await _upward_action(work)


@router.post("/upward/{pub_id}/repost")
async def upward_repost(pub_id: RowId, who: Who) -> Response:
    def work() -> str:
        app = get_app()
        with app.db.session() as session:
            require(session, who.username, "repost", ChannelKind.UPWARD, _now())
            sub = reposts.draft_repost(
                session, app, get_publication(session, pub_id), actor=who.username
            )
            return f"已生成转载稿 稿件 {sub.id}（与原稿一致、仅加注来源，只需签发）"

    return await _upward_action(work)


@router.post("/upward/{pub_id}/cite")
async def upward_cite(pub_id: RowId, who: Who) -> Response:
    def work() -> str:
        app = get_app()
        with app.db.session() as session:
            require(session, who.username, "repost", ChannelKind.UPWARD, _now())
            upward = get_publication(session, pub_id)
            sub = reposts.cite(session, app, upward, actor=who.username)
            source = sub.current.repost_platform
            return f"转载稿 稿件 {sub.id} 已改为引用{source}的采用，须重新签发"

    return await _upward_action(work)


@router.post("/upward/{pub_id}/release")
async def upward_release(pub_id: RowId, who: Who) -> Response:
    def work() -> str:
        when = _publisher().release(pub_id, actor=who.username)
        return f"发布 {pub_id} 已放行，{local(when)} 作为本单位稿件发布"

    return await _upward_action(work)


@router.post("/upward/{pub_id}/drop")
async def upward_drop(request: Request, pub_id: RowId, who: Who) -> Response:
    reason = _text(await request.form(), "reason")

    def work() -> str:
        _publisher().drop(pub_id, reason=reason, actor=who.username)
        return f"发布 {pub_id} 已撤下，本单位平台不再发布"

    return await _upward_action(work)
