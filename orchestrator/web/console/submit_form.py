"""The submission form's model: what the person typed (kept to show again when refused), read
from the posted form or from a version being revised, and turned into the services' Draft with
every problem of the form itself reported together."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from starlette.datastructures import FormData, UploadFile

from gate.model import ChannelRequest, RepostSource
from orchestrator.app import App
from orchestrator.errors import InvalidInput
from orchestrator.images import image_problem
from orchestrator.models import Version
from orchestrator.services import submissions
from orchestrator.web.console.common import form_text, form_texts
from orchestrator.web.console.editor_html import editor_images
from orchestrator.web.templating import SHANGHAI


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


def values_from_form(form: FormData) -> FormValues:
    channels, dates, remarks = (form_texts(form, n) for n in ("channel", "publish_date", "remark"))
    rows = [
        Row(c.strip(), d.strip(), r.strip())
        for c, d, r in zip(channels, dates, remarks, strict=False)
    ]
    return FormValues(
        title=form_text(form, "title"),
        body=form_text(form, "body"),
        digest=form_text(form, "digest"),
        byline=form_text(form, "byline"),
        department=form_text(form, "department"),
        major_event=bool(form.get("major_event")),
        special_content=bool(form.get("special_content")),
        urgent=bool(form.get("urgent")),
        rows=rows,
        repost_platform=form_text(form, "repost_platform").strip(),
        repost_url=form_text(form, "repost_url").strip(),
        repost_time=form_text(form, "repost_time").strip(),
        keep_images=form_texts(form, "keep_image"),
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
