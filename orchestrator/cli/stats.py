"""`sanshen stats` and `sanshen bulletin`: 综合科's statistics and the monthly bulletin."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from orchestrator.cli import files
from orchestrator.cli.base import JsonOpt, app, ctx, run
from orchestrator.cli.table import table as text_table
from orchestrator.reports import statistics as st

PERIOD_BY_LABEL = {label: code for code, label in st.PERIOD_LABELS.items()}
FIGURE = re.compile(r"^(-?\d+(\.\d+)?%?|—)$")  # a count, a rate or "no figure"


def render_table(table: st.Table) -> str:
    """A statistics table under a rule, figures right-aligned."""
    figures = {
        i
        for i in range(len(table.headers))
        if table.rows and all(FIGURE.match(str(row[i])) for row in table.rows)
    }
    return text_table(table.rows, table.headers, right=figures, rule=True)


def show_report(report: st.Report) -> None:
    p = report.period
    scope = f"，科室 {report.department_filter}" if report.department_filter else ""
    typer.echo(f"信息发布统计：{p.label}（{p.first_day} 至 {p.last_day}{scope}）")
    if report.is_empty:
        typer.echo("本期无数据。")
        return
    for table in st.tables(report):
        typer.echo(f"\n【{table.title}】")
        typer.echo(render_table(table) if table.rows else "无。")


@app.command("stats", help="统计：各科室、各环节、各渠道的稿件、审核、发布与对上报送采用情况")
def stats_cmd(
    period: Annotated[
        str | None,
        typer.Option(
            "--period", help="统计周期：周、月、季度或年（也可写 week、month、quarter、year）"
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="哪一期：2026-10、2026-Q4、2026-W43、2026 或某日（缺省本期）"),
    ] = None,
    department: Annotated[
        str | None, typer.Option("--department", help="只看某科室（代码）")
    ] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="同时导出 Excel 文件")] = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        chosen = st.resolve_period(PERIOD_BY_LABEL.get(period or "", period), at)
        with ctx().session() as session:
            report = st.build(session, chosen, department=department)
        if xlsx is not None:
            files.write_bytes(xlsx, st.to_xlsx(report))
        saved = str(xlsx) if xlsx else None
        return report.as_dict() | {"xlsx": saved} if as_json else {"report": report, "xlsx": saved}

    def show(result: dict[str, Any]) -> None:
        show_report(result["report"])
        if result["xlsx"]:
            typer.echo(f"\n已导出：{result['xlsx']}")

    run(as_json, work, show)


@app.command("bulletin", help="月度通报：生成某月通报（PDF 与 Excel）并存档；已存档的不重复生成")
def bulletin_cmd(
    month: Annotated[
        str | None, typer.Option("--month", help="月份，如 2026-10（缺省上个月）")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="另存一份到此目录")] = None,
    actor: Annotated[str, typer.Option("--as", help="操作人用户名")] = "system",
    as_json: JsonOpt = False,
) -> None:
    from datetime import UTC, datetime

    from orchestrator.migrate import ensure_schema
    from orchestrator.reports import archive, bulletin

    def work() -> dict[str, Any]:
        chosen = (
            st.resolve_period("month", month) if month else st.previous_month(datetime.now(UTC))
        )
        application = ctx().app
        ensure_schema(application.db)
        issued = bulletin.issue(application, chosen, actor=actor)
        result = issued.as_dict() | {"files": []}
        if out is not None:
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise files.cannot_write(out, error, "目录") from None
            with application.db.read() as session:
                for entry in issued.entries:
                    _, data = archive.read_entry(session, application, entry.id)
                    files.write_bytes(out / entry.name, data)
                    result["files"].append(str(out / entry.name))
        return result

    def show(result: dict[str, Any]) -> None:
        done = "已生成并存档" if result["created"] else "此前已存档，未重复生成"
        typer.echo(f"{result['period']} 月度通报{done}：")
        for entry in result["entries"]:
            typer.echo(f"  存档 {entry['id']}  {entry['name']}  {entry['size']} 字节")
        for path in result["files"]:
            typer.echo(f"  已保存：{path}")

    run(as_json, work, show)
