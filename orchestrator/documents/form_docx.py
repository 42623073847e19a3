"""The 信息发布审批表 as .docx, for offices that edit in Word: the same rows, signature lines
and content pages as the PDF."""

from __future__ import annotations

import io
from typing import Any

from orchestrator.documents import form_text
from orchestrator.documents.form import Form, FormItem


def render_docx(form: Form) -> bytes:
    """The form as .docx, for offices that edit in Word."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = Document()
    _docx_font(doc)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(f"{form.organisation}信息发布审批表")
    run.bold = True
    run.font.size = _pt(16)
    applied_on = form_text.applied_on_text(form.applied_on)
    doc.add_paragraph(f"申请科室、窗口：{form.department}　　　　申请日期：{applied_on}")
    _docx_rows(doc, form)
    doc.add_paragraph()
    _docx_signatures(doc, form)
    doc.add_paragraph("备注：")
    for n, text in enumerate(form_text.NOTES, 1):
        doc.add_paragraph(f"{n}. {text}")
    doc.add_paragraph(form_text.footer_text(form))
    for item in form.items:
        doc.add_page_break()  # type: ignore[no-untyped-call]
        _docx_content(doc, item)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _pt(size: float) -> Any:
    from docx.shared import Pt

    return Pt(size)


def _docx_font(doc: Any) -> None:
    from docx.oxml.ns import qn

    normal = doc.styles["Normal"]
    normal.font.name = "宋体"
    normal.font.size = _pt(10.5)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")


def _docx_table(doc: Any, heads: tuple[str, ...]) -> Any:
    table = doc.add_table(rows=1, cols=len(heads))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, heads, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    return table


def _docx_merge(table: Any, column: int, first: int, last: int) -> None:
    if last > first:
        text = table.cell(first, column).text
        merged = table.cell(first, column).merge(table.cell(last, column))
        merged.text = text


def _docx_rows(doc: Any, form: Form) -> None:
    table = _docx_table(doc, ("序号", "信息名称", "发布形式", "发布日期", "备注"))
    for item in form.items:
        first = len(table.rows)
        for c in item.channels:
            cells = table.add_row().cells
            values = (str(item.number), item.title, c.label, c.date_text, c.remark)
            for cell, text in zip(cells, values, strict=True):
                cell.text = text
        last = len(table.rows) - 1
        _docx_merge(table, 0, first, last)
        _docx_merge(table, 1, first, last)


def _docx_signatures(doc: Any, form: Form) -> None:
    table = _docx_table(doc, ("签字栏", "序号", "签名人", "签署时间", "签名指纹", "意见"))
    for line in form.lines:
        first = len(table.rows)
        for values in form_text.signature_rows(form, line):
            cells = table.add_row().cells
            for cell, text in zip(cells, (line.label, *values), strict=True):
                cell.text = text
        _docx_merge(table, 0, first, len(table.rows) - 1)


def _docx_content(doc: Any, item: FormItem) -> None:
    doc.add_heading(f"附：第 {item.number} 项信息内容", level=2)
    doc.add_heading(item.title, level=1)
    facts = doc.add_table(rows=0, cols=2)
    facts.style = "Table Grid"
    for key, value in form_text.content_facts(item):
        cells = facts.add_row().cells
        cells[0].text, cells[1].text = key, value
    doc.add_heading("正文", level=3)
    for paragraph in item.body_text.split("\n"):
        doc.add_paragraph(paragraph)
    if item.images:
        doc.add_heading("图片（文件名与 SHA-256）", level=3)
        images = _docx_table(doc, ("文件名", "SHA-256"))
        for name, sha in item.images:
            cells = images.add_row().cells
            cells[0].text, cells[1].text = name, sha
