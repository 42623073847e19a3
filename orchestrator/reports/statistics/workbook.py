"""The statistics report as an .xlsx workbook: a cover sheet, one sheet per table, and a
native bar chart of upward submissions and adoptions by department."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from orchestrator.reports.statistics.figures import Report
from orchestrator.reports.statistics.tables import Table, local_time, tables


def to_xlsx(report: Report, *, title: str | None = None) -> bytes:
    """One sheet per table, Chinese headers, and a native bar chart of adoption by department."""
    from openpyxl import Workbook

    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "概况"
    cover.append([title or f"信息发布统计（{report.period.label}）"])
    cover.append(["统计周期", f"{report.period.first_day} 至 {report.period.last_day}"])
    cover.append(["生成时间", local_time(report.generated_at)])
    if report.department_filter:
        cover.append(["科室", report.department_filter])
    if report.is_empty:
        cover.append(["本期无数据"])
    cover.column_dimensions["A"].width = 14
    cover.column_dimensions["B"].width = 30
    for table in tables(report):
        _sheet(book, table)
    _adoption_chart(book, report)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Any, table: Table) -> None:
    from openpyxl.styles import Font

    sheet = book.create_sheet(table.title)
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append(row)
    for i, header in enumerate(table.headers, start=1):
        width = max([len(str(header)) * 2, *(len(str(r[i - 1])) * 2 for r in table.rows)])
        sheet.column_dimensions[sheet.cell(1, i).column_letter].width = min(40, max(8, width))
    sheet.freeze_panes = "A2"


def _adoption_chart(book: Any, report: Report) -> None:
    from openpyxl.chart import BarChart, Reference

    ranked = report.ranking()
    if not ranked:
        return
    sheet = book["采用排名"]
    chart = BarChart()
    chart.type = "col"
    chart.title = "各科室对上报送与采用"
    chart.y_axis.title = "篇数"
    data = Reference(sheet, min_col=3, max_col=4, min_row=1, max_row=len(ranked) + 1)
    names = Reference(sheet, min_col=2, min_row=2, max_row=len(ranked) + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(names)
    chart.height, chart.width = 8, 16
    sheet.add_chart(chart, "G2")
