"""Database, organisation and people."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url

from orchestrator.cli import files
from orchestrator.cli.base import (
    ActorOpt,
    JsonOpt,
    RoleArg,
    UsernameArg,
    app,
    ctx,
    db_app,
    local,
    person_app,
    read_password,
    role_labels,
    run,
)
from orchestrator.cli.table import table
from orchestrator.errors import InvalidInput
from orchestrator.migrate import upgrade
from orchestrator.services import delegation, org

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
    org_file: Annotated[
        Path, typer.Argument(metavar="组织文件", help="组织 YAML 文件", exists=False)
    ],
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        text = files.read_text(org_file, "组织文件")
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
        people = result["people"]
        typer.echo(f"已初始化 {result['organisation']}，共 {len(people)} 人：")
        rows = [
            (p["username"], p["name"], role_labels(p["roles"]), p.get("initial_password"))
            for p in people
        ]
        header = ("用户名", "姓名", "角色", "初始密码" if any(r[3] for r in rows) else "")
        typer.echo(table(rows, header, indent="  "))

    run(as_json, work, show)


@person_app.command("add", help="新增人员（生成签名密钥，私钥以其密码加密保存）")
def person_add(
    username: UsernameArg,
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
def person_grant(username: UsernameArg, role: RoleArg, as_json: JsonOpt = False) -> None:
    change_role(org.grant_role, username, role, as_json)


@person_app.command("revoke", help="撤销角色（自当前时刻起失效，历史签名不受影响）")
def person_revoke(username: UsernameArg, role: RoleArg, as_json: JsonOpt = False) -> None:
    change_role(org.revoke_role, username, role, as_json)


def change_role(change: Callable[..., object], username: str, role: str, as_json: bool) -> None:
    """Grant or revoke one role from now on, then show the person's current roles."""

    def work() -> dict[str, Any]:
        with ctx().session() as session:
            person = org.person_by_username(session, username)
            change(session, person, org.parse_role(role), actor="cli")
            return org.describe_person(person)

    run(as_json, work, lambda r: typer.echo(f"{r['username']} 当前角色：{role_labels(r['roles'])}"))


@person_app.command("in-charge", help="设定分管领导分管的科室（终审只能由分管该科室的领导办理）")
def person_in_charge(
    username: UsernameArg,
    departments: Annotated[str, typer.Option(help="科室代码，逗号分隔，如 `sjgl,zhk`")],
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        codes = [c.strip() for c in departments.replace("，", ",").split(",") if c.strip()]
        if not codes:
            raise InvalidInput("请至少给出一个科室代码", code="no_departments")
        with ctx().session() as session:
            person = org.person_by_username(session, username)
            org.set_in_charge(session, person, codes, actor="cli")
            return org.describe_person(person)

    run(
        as_json,
        work,
        lambda r: typer.echo(f"{r['username']} 现分管：{'、'.join(r['in_charge_of'])}"),
    )


@person_app.command("notify", help="设置某人的通知方式：企业微信账号、邮箱、通知渠道、每日汇总")
def person_notify(
    username: UsernameArg,
    wecom: Annotated[
        str | None, typer.Option("--wecom", help="企业微信账号（成员 `userid`）；给空串则清除")
    ] = None,
    email: Annotated[str | None, typer.Option(help="邮箱；给空串则清除")] = None,
    via: Annotated[
        str | None,
        typer.Option(
            help="通知渠道，逗号分隔：`wecom`（企业微信）、`email`（邮件）；给空串则不通知"
        ),
    ] = None,
    digest: Annotated[
        bool | None, typer.Option("--digest/--no-digest", help="每日汇总一条，而不是逐条通知")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        chosen = None
        if via is not None:
            chosen = [v.strip() for v in via.replace("，", ",").split(",") if v.strip()]
        with ctx().session() as session:
            person = org.set_notify(
                session,
                username,
                actor="cli",
                wecom_userid=wecom,
                email=email,
                via=chosen,
                digest=digest,
            )
            return {
                "username": person.username,
                "wecom_userid": person.wecom_userid,
                "email": person.email,
                "via": [v for v in person.notify_via.split(",") if v],
                "digest": person.notify_digest,
            }

    def show(r: dict[str, Any]) -> None:
        ways = "、".join(org.NOTIFY_ROUTES[v] for v in r["via"]) or "不通知"
        typer.echo(
            f"{r['username']} 的通知：{ways}；企业微信 {r['wecom_userid'] or '未登记'}，"
            f"邮箱 {r['email'] or '未登记'}；{'每日汇总' if r['digest'] else '逐条通知'}"
        )

    run(as_json, work, show)


@person_app.command("delegate", help="安排代理：某人外出期间，由另一人代行其科室角色（含起止日期）")
def person_delegate(
    deputy: Annotated[str, typer.Option("--to", help="代理人用户名")],
    acting_for: Annotated[str, typer.Option("--for", help="被代理人（外出者）用户名")],
    role: Annotated[
        str, typer.Option(help="代行的角色，如 科室负责人/支部书记（或 section_head）")
    ],
    start: Annotated[str, typer.Option("--from", help="开始日期 YYYY-MM-DD（含）")],
    until: Annotated[str, typer.Option(help="结束日期 YYYY-MM-DD（含）")],
    actor: ActorOpt,
    department: Annotated[
        str | None, typer.Option(help="代理哪个科室（被代理人分管多个时必填）")
    ] = None,
    note: Annotated[str, typer.Option(help="说明，如外出事由")] = "",
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            row = delegation.delegate(
                session,
                deputy=deputy,
                acting_for=acting_for,
                role=org.parse_role(role),
                start=_day(start),
                end=_day(until),
                department=department,
                actor=actor,
                note=note,
            )
            return delegation.describe(row)

    run(as_json, work, lambda r: typer.echo("已安排代理：" + _delegation_line(r)))


@person_app.command("delegations", help="列出代理安排（默认只列未结束的）")
def person_delegations(
    all_: Annotated[bool, typer.Option("--all", help="包括已结束的")] = False,
    as_json: JsonOpt = False,
) -> None:
    def work() -> list[dict[str, Any]]:
        with ctx().session() as session:
            at = None if all_ else datetime.now(UTC)
            return [delegation.describe(r) for r in delegation.delegations(session, current_at=at)]

    def show(rows: list[dict[str, Any]]) -> None:
        if not rows:
            typer.echo("没有代理安排")
        for r in rows:
            typer.echo(_delegation_line(r))

    run(as_json, work, show)


@person_app.command("end-delegation", help="提前结束一项代理（此前代理人的审核仍然有效）")
def person_end_delegation(
    delegation_id: Annotated[int, typer.Argument(metavar="代理编号", help="代理的编号")],
    actor: ActorOpt,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            return delegation.describe(
                delegation.end_delegation(session, delegation_id, actor=actor)
            )

    run(as_json, work, lambda r: typer.echo("已结束代理：" + _delegation_line(r)))


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"日期“{text}”无效，应为 YYYY-MM-DD", code="bad_date") from None


def _delegation_line(r: dict[str, Any]) -> str:
    until = r["valid_until"] - timedelta(microseconds=1)
    where = f"{r['department']} " if r["department"] else ""
    return (
        f"#{r['id']} {r['deputy_name']}（{r['deputy']}）代理 {r['acting_for_name']} 的职务"
        f"（{where}{r['role_label']}），{local(r['valid_from'])} 至 {local(until)}"
        f"，由 {r['granted_by']} 安排"
    )


@person_app.command("list", help="列出人员及其当前角色")
def person_list(as_json: JsonOpt = False) -> None:
    def work() -> list[dict[str, Any]]:
        with ctx().session() as session:
            return [org.describe_person(p) for p in org.all_people(session)]

    def show(rows: list[dict[str, Any]]) -> None:
        lines = [
            (p["username"], p["name"], p["department"] or "-", role_labels(p["roles"]))
            for p in rows
        ]
        typer.echo(table(lines, ("用户名", "姓名", "科室", "角色")) if lines else "（没有人员）")

    run(as_json, work, show)
