"""REST endpoints for the 审批表, the archive and the accountability report.

Every endpoint needs a session or a bearer token (deps.principal); files come back as
attachments named in Chinese (RFC 6266 filename*), refusals as the usual JSON error body.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from orchestrator.reports import accountability, archive, bulletin, form
from orchestrator.web.deps import MAX_ROW_ID, RowId, Who, get_app
from orchestrator.web.downloads import attachment
from orchestrator.web.refusals import ApiRoute, answer_other_methods, media, refusals
from orchestrator.web.schemas import NO_NUL, ChannelNameOrLabel, Day
from orchestrator.web.v1.shared import iso_day

router = APIRouter(prefix="/api/v1", tags=["审批表与存档"], route_class=ApiRoute)

# What the archive keeps: the signed 审批表 (PDF, Word), the exact content signed (JSON), and
# the bulletins (PDF, Excel).
ARCHIVED_TYPES = tuple(
    dict.fromkeys(("application/pdf", form.DOCX_MIME, "application/json", *bulletin.KINDS.values()))
)
# Not signed off yet (409), or an unknown submission (404).
FORM_REFUSALS = refusals(404, 409)


def _form(submission_id: int, suffix: str) -> Response:
    app = get_app()
    with app.db.read() as session:
        built = form.build(session, app, [submission_id])
    name = f"审批表-稿件{submission_id}-v{built.items[0].version_number}.{suffix}"
    if suffix == "pdf":
        return attachment(form.render_pdf(built), name, "application/pdf")
    return attachment(form.render_docx(built), name, form.DOCX_MIME)


@router.get(
    "/submissions/{submission_id}/form.pdf",
    summary="信息发布审批表（PDF）",
    response_class=Response,
    responses={**media("application/pdf", description="审批表 PDF"), **FORM_REFUSALS},
)
def form_pdf(submission_id: RowId, _who: Who) -> Response:
    return _form(submission_id, "pdf")


@router.get(
    "/submissions/{submission_id}/form.docx",
    summary="信息发布审批表（Word）",
    response_class=Response,
    responses={**media(form.DOCX_MIME, description="审批表 Word 文档"), **FORM_REFUSALS},
)
def form_docx(submission_id: RowId, _who: Who) -> Response:
    return _form(submission_id, "docx")


@router.get("/archive", summary="存档文件列表（分页，最新在前）")
def archive_list(
    _who: Who,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    kind: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="存档类别，如 form_pdf")
    ] = None,
    submission: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> dict[str, Any]:
    with get_app().db.read() as session:
        total, rows = archive.list_entries(
            session, page=page, per_page=per_page, kind=kind, submission_id=submission
        )
        return {
            "total": total,
            "page": page,
            "per_page": per_page,
            "items": [archive.entry_dict(e) for e in rows],
        }


@router.post("/archive/verify", summary="核对全部存档文件与其哈希")
def archive_verify(_who: Who) -> dict[str, Any]:
    app = get_app()
    with app.db.read() as session:
        return archive.verify(session, app).as_dict()


def _day(text: str, name: str) -> date:
    return iso_day(text.strip(), f"参数 {name} 的日期“{text}”格式有误，应为 YYYY-MM-DD")


@router.get(
    "/archive/export",
    summary="导出一段日期内的存档（zip，含索引）",
    response_class=Response,
    # 409: a file in the range no longer matches its hash.
    responses={**media("application/zip", description="zip，含 index.json"), **refusals(409)},
)
def archive_export(
    _who: Who,
    start: Annotated[Day, Query(alias="from", description="开始日期 YYYY-MM-DD（含）")],
    end: Annotated[Day, Query(alias="to", description="结束日期 YYYY-MM-DD（含）")],
) -> Response:
    first, last = _day(start, "from"), _day(end, "to")
    app = get_app()
    with app.db.read() as session:
        data = archive.export(session, app, first, last)
    return attachment(data, f"存档-{first}-{last}.zip", "application/zip")


@router.get(
    "/archive/{entry_id}",
    summary="下载一个存档文件（先核对哈希）",
    response_class=Response,
    # 409: the file is missing or changed.
    responses={**media(*ARCHIVED_TYPES, description="存档文件"), **refusals(404, 409)},
)
def archive_download(entry_id: RowId, _who: Who) -> Response:
    app = get_app()
    with app.db.read() as session:
        entry, data = archive.read_entry(session, app, entry_id)
        return attachment(data, entry.name, entry.mime)


@router.get(
    "/accountability",
    summary="追责报告：已发布信息的撰写、审核、签发与发布人",
    responses=refusals(404),
)
def accountability_report(
    _who: Who,
    channel: Annotated[ChannelNameOrLabel, Query(description="发布渠道（名称或发布形式）")],
    url: Annotated[str | None, Query(pattern=NO_NUL, description="发布链接")] = None,
    external_id: Annotated[
        str | None, Query(alias="id", pattern=NO_NUL, description="平台发布编号")
    ] = None,
) -> dict[str, Any]:
    app = get_app()
    with app.db.read() as session:
        return accountability.report(session, app, channel, url=url, external_id=external_id)


answer_other_methods(router)
