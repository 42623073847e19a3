"""Refused before review, not at send: every requested channel's `validate` run on a draft
before it becomes a version, and the safe image fixes offered for what they would refuse.

`problems(draft, …)` builds each channel's `Item` from the draft exactly as it will be stored
(the cleaned body, images by hash) and asks the adapter's pure `validate`. What only the review
can supply (the approvals an upward package carries) is left out: it is true of every draft.
`autofix(draft, …)` replaces each refused image by its fitted copy (orchestrator.autofix) and
says what it did; a person asks for it (the form's 自动修正, `--autofix`, `"autofix": true`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from channels.errors import Problem
from channels.item import Image, Item, Source
from orchestrator import autofix as fixes
from orchestrator.blobs import sniff_mime
from orchestrator.errors import InvalidInput
from orchestrator.services.drafts import Draft, ImageFile
from orchestrator.services.hub import ChannelHub

# The approvals an item carries upward exist only after review.
PENDING_REVIEW_CODES = frozenset({"review_missing", "sign_off_missing", "fingerprint_missing"})
NOT_BLOCKING = frozenset({"scripts_stripped"})  # the platform removes them itself
FIXABLE = frozenset({"image_type", "image_too_large"})
HINTS = {
    "cover_missing": "请上传封面图",
    "title_too_long": "请缩短标题",
    "title_too_short": "请补充标题",
    "digest_too_long": "请缩短摘要",
    "author_too_long": "请缩短署名",
    "image_missing": "请上传正文引用的图片，或从正文删去该图片",
    "content_too_long": "请精简正文或拆分为多篇",
    "content_too_large": "请减少正文图片或拆分为多篇",
    "source_missing": "请填写转载来源平台",
    "source_url_invalid": "请填写转载原文的网址",
}
AUTOFIX_HINT = "可自动修正：勾选“自动修正”后重新提交"


@dataclass(frozen=True)
class Found:
    channel: str
    display_name: str
    problem: Problem
    fixable: bool

    def text(self) -> str:
        hint = AUTOFIX_HINT if self.fixable else HINTS.get(self.problem.code, "")
        return f"{self.display_name}：{self.problem.message}" + (f"（{hint}）" if hint else "")


def item_of(draft: Draft, body_html: str, department: str, channel: str) -> Item:
    """The channel's view of the draft, as `orchestrator.render.render` gives it of a version."""
    source = None
    if draft.repost is not None:
        source = Source(draft.repost.platform, draft.repost.url, draft.repost.published_at)
    request = next((row for row in draft.channels if row.channel == channel), None)
    return Item(
        reference="precheck",
        title=draft.title.strip(),
        body_html=body_html,
        images=tuple(_image(f) for f in draft.images),
        cover=_image(draft.cover, "封面") if draft.cover else None,
        author=draft.byline,
        digest=draft.digest,
        department=department,
        publish_date=request.publish_date if request else None,
        source=source,
        review=(),
        fingerprint="precheck",
    )


def _image(file: ImageFile, name: str = "") -> Image:
    sha = hashlib.sha256(file.data).hexdigest()
    return Image(
        sha256=sha, filename=name or file.filename, mime=sniff_mime(file.data), data=file.data
    )


def problems(draft: Draft, body_html: str, department: str, hub: ChannelHub) -> list[Found]:
    found: list[Found] = []
    for row in draft.channels:
        display_name = hub.classes[row.channel].display_name
        item = item_of(draft, body_html, department, row.channel)
        for problem in hub.problems(row.channel, item):
            if problem.code in PENDING_REVIEW_CODES | NOT_BLOCKING:
                continue
            fixable = problem.code in FIXABLE and _fitted(draft, problem) is not None
            found.append(Found(row.channel, display_name, problem, fixable))
    return found


def refuse(found: list[Found]) -> None:
    if not found:
        return
    lines = [f.text() for f in found]
    raise InvalidInput(
        "稿件在所申请的渠道上将无法发布，请先修改：" + "；".join(lines),
        code="channel_problems",
        details=lines,
    )


def _target(draft: Draft, field: str) -> ImageFile | None:
    if field == "cover":
        return draft.cover
    if field.startswith("images[") and field.endswith("]"):
        index = int(field[len("images[") : -1])
        return draft.images[index] if index < len(draft.images) else None
    return None


def _fitted(draft: Draft, problem: Problem) -> fixes.Fitted | None:
    image = _target(draft, problem.field)
    if image is None or not problem.kinds or problem.max_bytes <= 0:
        return None
    return fixes.fit(image.data, problem.kinds, problem.max_bytes)


def autofix(
    draft: Draft, body_html: str, department: str, hub: ChannelHub
) -> tuple[Draft, list[str]]:
    """The draft with every fixable image replaced by one the objecting channels accept, and
    what was done. Several channels' limits on one image combine: the formats all of them
    take, the smallest size. The caller checks the result again like any draft."""
    limits: dict[str, tuple[frozenset[str], int]] = {}
    for found in problems(draft, body_html, department, hub):
        p = found.problem
        if found.fixable:
            kinds, size = limits.get(p.field, (frozenset(p.kinds), p.max_bytes))
            limits[p.field] = (kinds & frozenset(p.kinds), min(size, p.max_bytes))
    done: list[str] = []
    for field, (kinds, size) in limits.items():
        image = _target(draft, field)
        fitted = fixes.fit(image.data, tuple(sorted(kinds)), size) if image and kinds else None
        if image is None or fitted is None or fitted.data == image.data:
            continue
        name = "封面" if field == "cover" else f"图片 {image.filename}"
        done.append(fixes.describe(name, image.data, fitted))
        fixed = replace(image, data=fitted.data, filename=_renamed(image, fitted))
        draft = _replaced(draft, field, fixed)
    return draft, done


def _renamed(image: ImageFile, fitted: fixes.Fitted) -> str:
    """The file name with the new format's extension (a PNG name on JPEG bytes is refused)."""
    stem = image.filename.rsplit(".", 1)[0] if "." in image.filename else image.filename
    return f"{stem}.{'jpg' if fitted.kind == 'jpeg' else fitted.kind}"


def _replaced(draft: Draft, field: str, image: ImageFile) -> Draft:
    if field == "cover":
        return replace(draft, cover=image)
    index = int(field[len("images[") : -1])
    old = draft.images[index]
    images = [*draft.images[:index], image, *draft.images[index + 1 :]]
    body = draft.body_html
    if old.filename != image.filename:  # the body names the file; follow the new name
        body = body.replace(f'"{old.filename}"', f'"{image.filename}"').replace(
            f"'{old.filename}'", f"'{image.filename}'"
        )
    return replace(draft, images=images, body_html=body)
