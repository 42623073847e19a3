"""Console pages for statistics and bulletins (统计和通报).

GET  /stats                    the period's figures as tables and inline SVG charts
GET  /stats.xlsx               the same figures as a workbook
GET  /bulletins                archived monthly bulletins
POST /bulletins                issue a month's bulletin now (综合科; idempotent)
GET  /bulletins/{id}/download  one archived bulletin file, checked against its hash
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from orchestrator.errors import Forbidden, InvalidInput, NotFound
from orchestrator.models import ArchiveEntry, Department
from orchestrator.reports import archive, bulletin, charts
from orchestrator.reports import statistics as st
from orchestrator.web.console.common import Who
from orchestrator.web.deps import RowId, get_app
from orchestrator.web.downloads import attachment
from orchestrator.web.templating import flash, load_me, page

router = APIRouter(include_in_schema=False)
PERIOD_CHOICES = [(kind, st.PERIOD_LABELS[kind]) for kind in st.PERIOD_KINDS]
Text = Annotated[str | None, Query(max_length=40)]


def _report(period: str | None, at: str | None, department: str | None) -> st.Report:
    chosen = st.resolve_period(period or None, at or None)
    with get_app().db.read() as session:
        return st.build(session, chosen, department=department or None)


def _departments() -> list[tuple[str, str]]:
    with get_app().db.read() as session:
        rows = session.execute(select(Department.code, Department.name).order_by(Department.code))
        return [(code, name) for code, name in rows]


def without_empty_stage_columns(table: st.Table) -> st.Table:
    """The page leaves out return/reject columns that are all zero (the workbook keeps them)."""
    keep = [
        i
        for i, head in enumerate(table.headers)
        if not head.endswith(("退回", "驳回")) or any(row[i] for row in table.rows)
    ]
    return st.Table(
        table.key,
        table.title,
        [table.headers[i] for i in keep],
        [[row[i] for i in keep] for row in table.rows],
    )


def stats_charts(report: st.Report) -> list[str]:
    """Inline SVG: the work per department, upward adoption, and the time at each stage."""
    names = [d.name for d in report.departments]
    ranked = report.ranking()
    timed = [s for s in report.stages if s.timed]
    return [
        charts.bar_svg(
            "各科室稿件与发布（篇）",
            names,
            [
                charts.Series("提交", [d.submitted for d in report.departments]),
                charts.Series("签发", [d.signed_off for d in report.departments]),
                charts.Series("发布", [d.published for d in report.departments]),
            ],
        ),
        charts.bar_svg(
            "对上报送与采用（篇）",
            [d.name for d in ranked],
            [
                charts.Series("报送", [d.upward_submitted for d in ranked]),
                charts.Series("采用", [d.upward_adopted for d in ranked]),
            ],
        ),
        charts.bar_svg(
            "各审核环节用时（小时）",
            [s.label for s in timed],
            [
                charts.Series("中位数", [s.median_hours or 0.0 for s in timed]),
                charts.Series("P90", [s.p90_hours or 0.0 for s in timed]),
            ],
        ),
    ]


def _same_report(report: st.Report, department: str | None) -> dict[str, str]:
    query = {"period": report.period.kind, "at": report.period.key}
    return query | ({"department": department} if department else {})


@router.get("/stats", response_class=HTMLResponse)
def stats_page(
    request: Request,
    who: Who,
    period: Text = None,
    at: Text = None,
    department: Text = None,
) -> Response:
    query = {k: v for k, v in (("period", period), ("at", at), ("department", department)) if v}
    context: dict[str, Any] = {
        "choices": PERIOD_CHOICES,
        "departments": _departments(),
        "filter": query,
        "error": None,
        "report": None,
    }
    try:
        report = _report(period, at, department)
    except (InvalidInput, NotFound) as error:
        context["error"] = error.message
        return page(request, "reports_stats.html", who, status_code=422, **context)
    context |= {
        "report": report,
        "totals": report.totals(),
        "tables": [without_empty_stage_columns(t) for t in st.tables(report)],
        "charts": stats_charts(report),
        "xlsx_href": "/stats.xlsx?" + urlencode(_same_report(report, department)),
    }
    return page(request, "reports_stats.html", who, **context)


@router.get("/stats.xlsx")
def stats_xlsx(who: Who, period: Text = None, at: Text = None, department: Text = None) -> Response:
    report = _report(period, at, department)
    suffix = f"-{department}" if department else ""
    return attachment(
        st.to_xlsx(report), f"信息发布统计-{report.period.key}{suffix}.xlsx", bulletin.XLSX_MIME
    )


@router.get("/bulletins", response_class=HTMLResponse)
def bulletins_page(request: Request, who: Who) -> Response:
    me = load_me(who)
    with get_app().db.read() as session:
        entries = [archive.entry_dict(e) for e in bulletin.bulletins(session)]
    by_period: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_period.setdefault(entry["period"] or "", []).append(entry)
    last = st.previous_month(datetime.now(UTC))
    return page(
        request,
        "reports_bulletins.html",
        who,
        me=me,
        periods=sorted(by_period.items(), reverse=True),
        can_issue=me.has("general_office"),
        default_month=last.key,
    )


@router.post("/bulletins")
def issue_bulletin(who: Who, month: Annotated[str, Form(max_length=10)]) -> Response:
    if not load_me(who).has("general_office"):
        raise Forbidden("只有综合科可以生成通报", code="role_not_held")
    chosen = st.resolve_period("month", month)
    issued = bulletin.issue(get_app(), chosen, actor=who.username)
    text = f"{chosen.label}通报已生成并存档" if issued.created else f"{chosen.label}通报此前已存档"
    return flash(RedirectResponse("/bulletins", status_code=303), text)


@router.get("/bulletins/{entry_id}/download")
def bulletin_file(entry_id: RowId, who: Who) -> Response:
    app = get_app()
    with app.db.read() as session:
        kind = session.scalar(select(ArchiveEntry.kind).where(ArchiveEntry.id == entry_id))
        if kind not in bulletin.KINDS:  # other archived files are not served here
            raise NotFound(f"通报 {entry_id} 不存在", code="bulletin_not_found")
        entry, data = archive.read_entry(session, app, entry_id)
        return attachment(data, entry.name, entry.mime)
