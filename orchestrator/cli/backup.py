"""`sanshen backup`: back up and restore the embedded default (SQLite and the data folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from orchestrator import backup
from orchestrator.cli.base import JsonOpt, app, ctx, run

backup_app = typer.Typer(
    help="备份与恢复（内置 SQLite 数据库及数据目录；PostgreSQL 请用 `pg_dump`）",
    no_args_is_help=True,
)
app.add_typer(backup_app, name="backup")


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.1f} KB"


@backup_app.command(
    "create",
    help="备份：数据库（运行中也能得到一致的副本）、图片、归档文件和密钥，附带哈希清单",
)
def backup_create(
    out: Annotated[Path, typer.Option("--out", help="备份文件（.tar.gz），不会覆盖已有文件")],
    files_only: Annotated[
        bool,
        typer.Option("--files-only", help="只备份数据目录中的文件（数据库用 `pg_dump` 另行备份）"),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        return backup.create(ctx().app.settings, out, files_only=files_only).as_dict()

    def show(r: dict[str, Any]) -> None:
        what = "数据库和" if r["database"] else ""
        typer.secho(
            f"已备份{what} {r['files']} 个文件（{_size(r['bytes'])}）到 {r['path']}",
            fg=typer.colors.GREEN,
        )

    run(as_json, work, show)


@backup_app.command("restore", help="恢复：逐个校验清单中的哈希后，解到一个空的数据目录")
def backup_restore(
    archive: Annotated[Path, typer.Argument(metavar="备份文件", help="备份文件（.tar.gz）")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="恢复到的数据目录（须为空）")],
    force: Annotated[bool, typer.Option("--force", help="目录不空时也覆盖")] = False,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        return backup.restore(archive, data_dir, force=force).as_dict()

    def show(r: dict[str, Any]) -> None:
        typer.secho(
            f"已恢复 {r['files']} 个文件（{_size(r['bytes'])}）到 {r['path']}，哈希全部相符",
            fg=typer.colors.GREEN,
        )
        typer.echo(f"请用 sanshen --data-dir {r['path']} audit verify 检查审计链")

    run(as_json, work, show)
