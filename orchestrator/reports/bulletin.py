"""通报: the monthly bulletin 综合科 issues — the month's figures, the departments ranked by
adopted upward submissions, and a chart — as PDF (CJK font embedded) and .xlsx, archived.

`issue` is idempotent per month: a bulletin already archived for the period is returned, not
archived again, so the monthly beat entry (and a person re-running it) cannot duplicate it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from orchestrator.app import App
from orchestrator.documents import fonts
from orchestrator.models import ArchiveEntry
from orchestrator.reports import archive, charts
from orchestrator.reports import statistics as st

PDF_MIME = "application/pdf"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = {"bulletin_pdf": PDF_MIME, "bulletin_xlsx": XLSX_MIME}
TITLE = "政务信息发布情况通报"


def file_stem(period: st.Period) -> str:
    return f"信息发布通报-{period.key}"


@dataclass
class Issued:
    period: st.Period
    entries: list[ArchiveEntry]
    created: bool  # False: the month's bulletin was archived before

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.key,
            "created": self.created,
            "entries": [archive.entry_dict(e) for e in self.entries],
        }


def issue(
    app: App,
    period: st.Period,
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> Issued:
    """Build and archive the bulletin for `period` once; later calls return what was archived.

    The figures are read and the files rendered outside any write transaction: rendering is
    CPU work of a second or more on a busy machine, and on SQLite a write transaction holds the
    one write lock that every send and every claim of a due row waits for (the scheduler issues
    bulletins beside its dispatch loop). Only archiving writes; it looks again first, so two
    issuers archive once.
    """
    now = now or datetime.now(UTC)
    with app.db.read() as session:
        found = existing(session, period)
        if all(kind in found for kind in KINDS):
            return Issued(period, [found[k] for k in KINDS], created=False)
        report = st.build(session, period, now=now)
    data = {"bulletin_pdf": render_pdf(report), "bulletin_xlsx": render_xlsx(report)}
    with app.db.session() as session:
        _serialise(session, period)
        found = existing(session, period)
        missing = [kind for kind in KINDS if kind not in found]
        for kind in missing:
            found[kind] = archive.store(
                session, app, kind=kind, name=f"{file_stem(period)}.{kind[9:]}",
                data=data[kind], mime=KINDS[kind], period=period.key, actor=actor,
            )  # fmt: skip
        return Issued(period, [found[k] for k in KINDS], created=bool(missing))


def _serialise(session: Session, period: st.Period) -> None:
    """Two issuers of one month wait for each other (SQLite's write lock already does this)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"bulletin:{period.key}".encode()).digest()[:7])
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def existing(session: Session, period: st.Period) -> dict[str, ArchiveEntry]:
    rows = session.scalars(
        select(ArchiveEntry)
        .where(ArchiveEntry.kind.in_(list(KINDS)), ArchiveEntry.period == period.key)
        .order_by(ArchiveEntry.id)
    )
    found: dict[str, ArchiveEntry] = {}
    for row in rows:
        found.setdefault(row.kind, row)
    return found


def bulletins(session: Session) -> list[ArchiveEntry]:
    """Every archived bulletin file, newest period first."""
    return list(
        session.scalars(
            select(ArchiveEntry)
            .where(ArchiveEntry.kind.in_(list(KINDS)))
            .order_by(ArchiveEntry.period.desc(), ArchiveEntry.kind, ArchiveEntry.id)
        )
    )


# --- the workbook -----------------------------------------------------------------------------


def render_xlsx(report: st.Report) -> bytes:
    return st.to_xlsx(report, title=f"{TITLE}（{report.period.label}）")


# --- the PDF ----------------------------------------------------------------------------------


def summary(report: st.Report) -> str:
    """The month in one paragraph."""
    if report.is_empty:
        return f"{report.period.label}无信息发布数据。"
    t = report.totals()
    return (
        f"{report.period.label}，各科室共提交稿件 {t.submitted} 篇，签发 {t.signed_off} 篇；"
        f"审核中退回 {t.returned_total} 次、驳回 {t.rejected_total} 次。"
        f"各渠道发布 {t.published} 条，发布失败 {t.failed} 条，撤稿 {t.retracted} 条。"
        f"对上报送 {t.upward_submitted} 篇，被采用 {t.upward_adopted} 篇，"
        f"采用率 {st.percent(t.adoption_rate)}。"
        f"迟发 {t.sent_late} 条，逾期未发 {t.overdue_unsent} 条。"
    )


def ranking_chart(report: st.Report, font: str) -> Any:
    ranked = report.ranking()
    return charts.bar_drawing(
        "各科室对上报送与采用（篇）",
        [d.name for d in ranked],
        [
            charts.Series("报送", [d.upward_submitted for d in ranked]),
            charts.Series("采用", [d.upward_adopted for d in ranked]),
        ],
        font=font,
    )


def _pdf_tables(report: st.Report) -> list[tuple[str, list[str], list[list[Any]]]]:
    depts = [
        [d.name, d.submitted, d.returned_total, d.rejected_total, d.signed_off, d.published,
         d.failed, d.retracted, d.upward_submitted, d.upward_adopted, st.percent(d.adoption_rate)]
        for d in [*report.departments, report.totals()]
    ] if report.departments else []  # fmt: skip
    heads = [
        "科室",
        "提交",
        "退回",
        "驳回",
        "签发",
        "发布",
        "失败",
        "撤稿",
        "报送",
        "采用",
        "采用率",
    ]
    picked = [st.channel_table(report), st.upward_table(report), st.stage_table(report)]
    overdue = st.overdue_table(report)
    overdue_rows = [[r[2], r[3], r[4], r[5], r[8]] for r in overdue.rows]
    return [
        ("三、各科室情况", heads, depts),
        *((f"{n}、{t.title}", t.headers, t.rows) for n, t in zip("四五六", picked, strict=True)),
        ("七、逾期发布", ["标题", "科室", "渠道", "计划时间", "情形"], overdue_rows),
    ]


def render_pdf(report: st.Report) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = fonts.register_cjk()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=13, leading=20, spaceBefore=8)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1)
    cell = ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11)
    out = BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=16 * mm,
        bottomMargin=16 * mm, initialFontName=font, author="综合科",
        title=f"{TITLE}（{report.period.label}）",
    )  # fmt: skip
    p = report.period
    story: list[Any] = [
        Paragraph(f"{TITLE}（{p.label}）", title),
        Paragraph(
            f"统计周期：{p.first_day} 至 {p.last_day}（北京时间）　"
            f"生成时间：{st.local_time(report.generated_at)}　综合科",
            ParagraphStyle("meta", parent=body, fontSize=9, alignment=1),
        ),
        Spacer(1, 4 * mm),
        Paragraph("一、总体情况", head),
        Paragraph(summary(report), body),
        Paragraph("二、对上报送采用排名", head),
    ]
    ranking = st.ranking_table(report)
    if ranking.rows:
        story += [_table(ranking.headers, ranking.rows, cell, font), Spacer(1, 3 * mm)]
        story.append(ranking_chart(report, font))
    else:
        story.append(Paragraph("本月无对上报送。", body))
    for heading, headers, rows in _pdf_tables(report):
        story.append(Paragraph(heading, head))
        story.append(_table(headers, rows, cell, font) if rows else Paragraph("无。", body))
    doc.build(story)
    return out.getvalue()


def _table(headers: list[str], rows: list[list[Any]], style: Any, font: str) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    data = [[Paragraph(str(v), style) for v in row] for row in [headers, *rows]]
    table = Table(data, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table
