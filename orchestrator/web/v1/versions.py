"""/api/v1/submissions/{id}/versions/{number} and /diff: one version of a submission, and what
changed between two (the title and the body's text as unified diffs, the rest in words)."""

from __future__ import annotations

import difflib
import html
import re
from typing import Annotated

from fastapi import APIRouter, Query

from orchestrator.errors import NotFound
from orchestrator.models import Submission, Version
from orchestrator.services import submissions
from orchestrator.web.deps import RowId, Who, get_app
from orchestrator.web.refusals import ApiRoute, answer_other_methods, refusals
from orchestrator.web.v1.submission_schemas import DiffOut, VersionOut
from orchestrator.web.v1.submission_views import version_out

router = APIRouter(prefix="/api/v1", tags=["稿件"], route_class=ApiRoute)

_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr|blockquote)\s*>")
_TAG = re.compile(r"<[^>]*>")


def find_version(sub: Submission, number: int) -> Version:
    for v in sub.versions:
        if v.number == number:
            return v
    raise NotFound(f"稿件 {sub.id} 没有第 {number} 版", code="unknown_version")


@router.get(
    "/submissions/{submission_id}/versions/{number}",
    response_model=VersionOut,
    responses=refusals(404),
)
def get_version(submission_id: RowId, number: RowId, who: Who) -> VersionOut:
    with get_app().db.read() as session:
        return version_out(find_version(submissions.get(session, submission_id), number))


def text_lines(body_html: str) -> list[str]:
    text = html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", body_html)))
    return [line.strip() for line in text.splitlines() if line.strip()]


def other_changes(a: Version, b: Version) -> list[str]:
    found = []
    for attr, label in (
        ("digest", "摘要"),
        ("byline", "署名"),
        ("major_event", "重大事件标记"),
        ("special_content", "特殊内容标记"),
        ("cover_sha256", "封面"),
        ("repost_url", "转载来源"),
    ):
        if getattr(a, attr) != getattr(b, attr):
            found.append(f"{label}已修改")
    if [i.sha256 for i in a.images] != [i.sha256 for i in b.images]:
        found.append("图片已修改")
    rows = [[(c.channel, c.publish_date, c.remark) for c in v.channels] for v in (a, b)]
    if rows[0] != rows[1]:
        found.append("审批表（发布渠道、日期或备注）已修改")
    return found


@router.get(
    "/submissions/{submission_id}/diff",
    response_model=DiffOut,
    responses=refusals(404),
)
def diff_versions(
    submission_id: RowId,
    who: Who,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> DiffOut:
    """What changed between two versions: unified diffs of the title and the body's text."""
    with get_app().db.read() as session:
        sub = submissions.get(session, submission_id)
        a, b = find_version(sub, from_version), find_version(sub, to_version)
        names = (f"第{a.number}版", f"第{b.number}版")
        return DiffOut(
            submission=sub.id,
            from_version=a.number,
            to_version=b.number,
            title_changed=a.title != b.title,
            title_diff=list(difflib.unified_diff([a.title], [b.title], *names, lineterm="")),
            body_diff=list(
                difflib.unified_diff(
                    text_lines(a.body_html), text_lines(b.body_html), *names, lineterm=""
                )
            ),
            other_changes=other_changes(a, b),
        )


answer_other_methods(router)
