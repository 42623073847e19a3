"""The 审批表, the archive and the accountability report."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from orchestrator.cli import files
from orchestrator.cli.base import JsonOpt, app, ctx, run
from orchestrator.cli.table import table
from orchestrator.errors import InvalidInput

archive_app = typer.Typer(
    help="存档：审批表、发布内容与通报的留存、校验与导出", no_args_is_help=True
)
app.add_typer(archive_app, name="archive")

OutOpt = Annotated[Path, typer.Option("--out", help="输出文件")]


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{option} 的日期“{text}”格式有误，应为 YYYY-MM-DD", code="bad_date"
        ) from None


@app.command("form", help="生成信息发布审批表（PDF/Word），可含同一科室的多份已签发稿件")
def form_cmd(
    submission_ids: Annotated[
        list[int], typer.Argument(metavar="稿件编号", help="稿件编号（可多个，按序填入表中）")
    ],
    out: OutOpt,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        from orchestrator.reports import form

        suffix = out.suffix.lower()
        if suffix not in (".pdf", ".docx"):
            raise InvalidInput(f"输出文件须以 .pdf 或 .docx 结尾：{out}", code="bad_form_format")
        with ctx().session() as session:
            built = form.build(session, ctx().app, submission_ids)
        data = form.render_pdf(built) if suffix == ".pdf" else form.render_docx(built)
        files.write_bytes(out, data)
        return {"out": str(out), "size": len(data)} | form.as_dict(built)

    def show(r: dict[str, Any]) -> None:
        typer.echo(f"已生成审批表：{r['out']}（{r['department']}，共 {len(r['items'])} 项）")

    run(as_json, work, show)


@archive_app.command("list", help="列出存档文件（最新在前）")
def archive_list(
    page: Annotated[int, typer.Option(help="页码")] = 1,
    per_page: Annotated[int, typer.Option(help="每页条数")] = 50,
    kind: Annotated[
        str | None, typer.Option(help="类别代码，如 form_pdf（审批表 PDF）、content（发布内容）")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        from orchestrator.reports import archive

        with ctx().session() as session:
            total, rows = archive.list_entries(session, page=page, per_page=per_page, kind=kind)
            return {"total": total, "items": [archive.entry_dict(e) for e in rows]}

    def show(r: dict[str, Any]) -> None:
        rows = [
            (e["id"], e["created_at"], e["kind_label"], e["name"], e["sha256"][:16] + "…")
            for e in r["items"]
        ]
        if rows:
            header = ("存档编号", "存档时间", "类别", "文件名", "SHA-256")
            typer.echo(table(rows, header, right={0}))
        typer.echo(f"共 {r['total']} 个存档文件")

    run(as_json, work, show)


@archive_app.command("verify", help="逐一核对存档文件与其哈希，指出缺失或被改动的文件")
def archive_verify(as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        from orchestrator.reports import archive

        with ctx().session() as session:
            return archive.verify(session, ctx().app).as_dict()

    def show(r: dict[str, Any]) -> None:
        if r["ok"]:
            typer.secho(f"存档完整：{r['checked']} 个文件均与哈希一致", fg=typer.colors.GREEN)
            return
        for problem in r["problems"]:
            typer.secho(problem["message"], fg=typer.colors.RED)
        typer.echo(f"共核对 {r['checked']} 个文件，{len(r['problems'])} 个有问题")

    run(as_json, work, show, status=lambda r: 0 if r["ok"] else 7)


@archive_app.command(
    "export", help="导出一段日期内的存档（ZIP 压缩包，含 index.csv 与 index.json）"
)
def archive_export(
    start: Annotated[str, typer.Option("--from", help="开始日期 YYYY-MM-DD（含）")],
    end: Annotated[str, typer.Option("--to", help="结束日期 YYYY-MM-DD（含）")],
    out: OutOpt,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        from orchestrator.reports import archive

        first, last = _day(start, "--from"), _day(end, "--to")
        with ctx().session() as session:
            data = archive.export(session, ctx().app, first, last)
        files.write_bytes(out, data)
        return {"out": str(out), "size": len(data), "from": str(first), "to": str(last)}

    def show(r: dict[str, Any]) -> None:
        typer.echo(f"已导出 {r['from']} 至 {r['to']} 的存档：{r['out']}（{r['size']} 字节）")

    run(as_json, work, show)


@app.command("accountability", help="追责报告：某篇已发布信息由谁撰写、审核、签发和发布")
def accountability_cmd(
    channel: Annotated[str, typer.Option(help="发布渠道，如 政府网站（或 gov_website）")],
    url: Annotated[str | None, typer.Option(help="发布链接")] = None,
    external_id: Annotated[str | None, typer.Option("--id", help="平台上的发布编号")] = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        from orchestrator.reports import accountability

        with ctx().session() as session:
            return accountability.report(
                session, ctx().app, channel, url=url, external_id=external_id
            )

    def show(r: dict[str, Any]) -> None:
        for line in r["summary"]:
            typer.echo(line)

    run(as_json, work, show, status=lambda r: 0 if r["signatures_valid"] else 7)
