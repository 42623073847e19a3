"""The 信息发布审批表 as A4 PDF: the form on its first page with the CJK font embedded (a
subset), then a page of content for each item (附后)."""

from __future__ import annotations

import io
from typing import Any

from orchestrator.documents import form_text
from orchestrator.documents.fonts import CJK
from orchestrator.documents.form import Form, FormItem


def render_pdf(form: Form) -> bytes:
    """The form as A4 PDF with the CJK font embedded (a subset), content pages after it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    styles = _pdf_styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=50,
        rightMargin=50,
        topMargin=50,
        bottomMargin=50,
        title=f"{form.organisation}信息发布审批表",
        author=form.organisation,
        subject="信息发布审批表",
        creator="三审发布",
        # The canvas starts in the CJK font too, so no unembedded base font is referenced.
        initialFontName=styles["body"].fontName,
    )
    story: list[Any] = [
        Paragraph(_esc(f"{form.organisation}信息发布审批表"), styles["title"]),
        Spacer(1, 8),
        _pdf_heading_line(form, styles),
        Spacer(1, 6),
        _pdf_rows(form, styles),
        Spacer(1, 10),
        _pdf_signatures(form, styles),
        Spacer(1, 10),
        Paragraph("备注：", styles["small"]),
        *(Paragraph(_esc(f"{n}. {t}"), styles["small"]) for n, t in enumerate(form_text.NOTES, 1)),
        Spacer(1, 6),
        Paragraph(_esc(form_text.footer_text(form)), styles["small"]),
    ]
    for item in form.items:
        story += [PageBreak(), *_pdf_content(item, styles)]
    doc.build(story)
    return buffer.getvalue()


def _pdf_heading_line(form: Form, styles: dict[str, Any]) -> Any:
    from reportlab.platypus import Paragraph, Table, TableStyle

    applied_on = form_text.applied_on_text(form.applied_on)
    line = Table(
        [
            [
                Paragraph(_esc(f"申请科室、窗口：{form.department}"), styles["body"]),
                Paragraph(_esc(f"申请日期：{applied_on}"), styles["body"]),
            ]
        ],
        colWidths=[300, 195],
    )
    line.setStyle(
        TableStyle([("FONTNAME", (0, 0), (-1, -1), CJK), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    )
    return line


def _esc(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text).replace("\n", "<br/>")


def _pdf_styles() -> dict[str, Any]:
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    from orchestrator.documents.fonts import register_cjk

    font = register_cjk()
    base = ParagraphStyle(
        "base", fontName=font, bulletFontName=font, fontSize=10.5, leading=15, wordWrap="CJK"
    )
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=24, alignment=TA_CENTER),
        "heading": ParagraphStyle("heading", parent=base, fontSize=13, leading=19),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13),
        "head": ParagraphStyle("head", parent=base, fontSize=9.5, leading=13, alignment=TA_CENTER),
        "sign": ParagraphStyle("sign", parent=base, fontSize=9, leading=12.5),
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=12),
    }


def _grid(data: list[list[Any]], widths: list[float], spans: list[Any], header: bool = True) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    shade = [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))] if header else []
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), CJK),
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                *shade,
                *spans,
            ]
        )
    )
    return table


def _pdf_rows(form: Form, styles: dict[str, Any]) -> Any:
    from reportlab.platypus import Paragraph

    def cell(text: str) -> Any:
        return Paragraph(_esc(text), styles["cell"])

    data: list[list[Any]] = [
        [Paragraph(h, styles["head"]) for h in ("序号", "信息名称", "发布形式", "发布日期", "备注")]
    ]
    spans = []
    for item in form.items:
        first = len(data)
        for c in item.channels:
            data.append(
                [
                    cell(str(item.number)),
                    cell(item.title),
                    cell(c.label),
                    cell(c.date_text),
                    cell(c.remark),
                ]
            )
        if len(item.channels) > 1:
            last = len(data) - 1
            spans += [("SPAN", (0, first), (0, last)), ("SPAN", (1, first), (1, last))]
    return _grid(data, [36, 175, 90, 80, 114], spans)


def _pdf_signatures(form: Form, styles: dict[str, Any]) -> Any:
    from reportlab.platypus import Paragraph

    def cell(text: str) -> Any:
        return Paragraph(_esc(text), styles["sign"])

    heads = ("签字栏", "序号", "签名人", "签署时间", "签名指纹", "意见")
    data: list[list[Any]] = [[Paragraph(h, styles["head"]) for h in heads]]
    spans = []
    for line in form.lines:
        first = len(data)
        for number, who, when, sig, comment in form_text.signature_rows(form, line):
            data.append(
                [cell(line.label), cell(number), cell(who), cell(when), cell(sig), cell(comment)]
            )
        if len(data) - 1 > first:
            spans.append(("SPAN", (0, first), (0, len(data) - 1)))
    return _grid(data, [138, 34, 58, 106, 112, 47], spans)


def _pdf_content(item: FormItem, styles: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import Paragraph, Spacer

    def cell(text: str) -> Any:
        return Paragraph(_esc(text), styles["cell"])

    out: list[Any] = [
        Paragraph(_esc(f"附：第 {item.number} 项信息内容"), styles["heading"]),
        Paragraph(_esc(item.title), styles["title"]),
        Spacer(1, 6),
        _grid(
            [[cell(k), cell(v)] for k, v in form_text.content_facts(item)],
            [90, 405],
            [],
            header=False,
        ),
        Spacer(1, 8),
        Paragraph("正文：", styles["heading"]),
    ]
    out += [Paragraph(_esc(p), styles["body"]) for p in item.body_text.split("\n")]
    if item.images:
        out += [Spacer(1, 8), Paragraph("图片（文件名与 SHA-256）：", styles["heading"])]
        out.append(
            _grid(
                [[cell("文件名"), cell("SHA-256")]]
                + [[cell(name), cell(sha)] for name, sha in item.images],
                [120, 375],
                [],
            )
        )
    return out
