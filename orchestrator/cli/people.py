"""Database, organisation and people."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url

from orchestrator.cli.base import (
    JsonOpt,
    app,
    ctx,
    db_app,
    person_app,
    read_password,
    run,
)
from orchestrator.errors import InvalidInput
from orchestrator.migrate import upgrade
from orchestrator.services import org

# --- db -------------------------------------------------------------------------------------


@db_app.command("upgrade", help="把数据库结构升级到最新版本")
def db_upgrade(as_json: JsonOpt = False) -> None:
    def work() -> dict[str, str]:
        upgrade(ctx().app.db)
        url = make_url(ctx().app.settings.sqlalchemy_url)
        return {"database": url.render_as_string(hide_password=True), "status": "upgraded"}

    run(as_json, work, lambda r: typer.echo(f"数据库已升级到最新结构：{r['database']}"))


# --- organisation ---------------------------------------------------------------------------


@app.command("init", help="初始化数据库，并按 YAML 文件建立科室和人员")
def init(
    org_file: Annotated[Path, typer.Argument(help="组织 YAML 文件", exists=False)],
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        try:
            text = org_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"无法读取组织文件 {org_file}：{exc.strerror}", code="bad_file"
            ) from None
        spec = org.parse_organisation(text)
        with ctx().session() as session:
            created = org.initialise(session, spec, kdf_profile=ctx().app.settings.kdf_profile)
            return {
                "organisation": spec.organisation,
                "people": [
                    org.describe_person(n.person)
                    | ({"initial_password": n.password} if n.generated else {})
                    for n in created
                ],
            }

    def show(result: dict[str, Any]) -> None:
        typer.echo(f"已初始化 {result['organisation']}，共 {len(result['people'])} 人：")
        for p in result["people"]:
            extra = f"  初始密码：{p['initial_password']}" if "initial_password" in p else ""
            typer.echo(f"  {p['username']:<12} {p['name']}  {','.join(p['roles'])}{extra}")

    run(as_json, work, show)


@person_app.command("add", help="新增人员（生成签名密钥，私钥以其密码加密保存）")
def person_add(
    username: str,
    name: Annotated[str, typer.Option(help="姓名")],
    department: Annotated[str | None, typer.Option(help="科室/窗口代码")] = None,
    role: Annotated[list[str] | None, typer.Option("--role", help="角色，可多次给出")] = None,
    password_stdin: Annotated[bool, typer.Option(help="从标准输入读取密码")] = False,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        password = read_password(password_stdin, "为该人员设置密码（至少 8 位）")
        spec = org.PersonSpec(
            username=username, name=name, department=department, roles=role or [], password=password
        )
        with ctx().session() as session:
            created = org.add_person(
                session, spec, kdf_profile=ctx().app.settings.kdf_profile, actor="cli"
            )
            return org.describe_person(created.person)

    run(as_json, work, lambda r: typer.echo(f"已新增人员 {r['username']}（{r['name']}）"))


@person_app.command("grant", help="授予角色（自当前时刻起生效）")
def person_grant(username: str, role: str, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            person = org.person_by_username(session, username)
            org.grant_role(session, person, org.parse_role(role), actor="cli")
            return org.describe_person(person)

    run(as_json, work, lambda r: typer.echo(f"{r['username']} 当前角色：{','.join(r['roles'])}"))


@person_app.command("revoke", help="撤销角色（自当前时刻起失效，历史签名不受影响）")
def person_revoke(username: str, role: str, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            person = org.person_by_username(session, username)
            org.revoke_role(session, person, org.parse_role(role), actor="cli")
            return org.describe_person(person)

    run(as_json, work, lambda r: typer.echo(f"{r['username']} 当前角色：{','.join(r['roles'])}"))


@person_app.command("list", help="列出人员及其当前角色")
def person_list(as_json: JsonOpt = False) -> None:
    def work() -> list[dict[str, Any]]:
        with ctx().session() as session:
            return [org.describe_person(p) for p in org.all_people(session)]

    def show(rows: list[dict[str, Any]]) -> None:
        for p in rows:
            typer.echo(
                f"{p['username']:<12} {p['name']:<8} {p['department'] or '-':<8} "
                f"{','.join(p['roles'])}"
            )

    run(as_json, work, show)
