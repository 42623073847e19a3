"""发布核验 from the command line, and the two hand steps of an assisted channel."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import select

from orchestrator.cli.base import (
    ActorOpt,
    JsonOpt,
    PublicationArg,
    PwOpt,
    app,
    ctx,
    local,
    read_password,
    run,
)
from orchestrator.cli.publications import pub_app
from orchestrator.cli.table import table
from orchestrator.errors import InvalidInput
from orchestrator.models import Publication
from orchestrator.services import manual, verification
from orchestrator.services.hub import hub_for
from orchestrator.services.publishing import get_publication
from orchestrator.states import State
from orchestrator.verify import Verdict


def _show(rows: list[dict[str, Any]]) -> None:
    if not rows:
        typer.echo("（没有可核验的线上页面）")
    for r in rows:
        typer.echo(
            f"发布 {r['publication_id']}：{r['verdict_label']}（{r['code']}）{r['reason']}"
            f"  当前状态：{State(r['state']).label}"
        )
        for op, text in r.get("diff", []):
            if op != "equal":
                mark = "+" if op == "insert" else "-"
                typer.echo(f"    {mark} {text}")


def _targets(pub_id: int | None, submission: int | None, every: bool) -> list[int]:
    if sum((pub_id is not None, submission is not None, every)) != 1:
        raise InvalidInput(
            "请指定一个发布编号，或 --submission 稿件编号，或 --all（三者选一）",
            code="choose_target",
        )
    if pub_id is not None:
        return [pub_id]
    with ctx().session() as session:
        query = (
            select(Publication.id)
            .where(Publication.url.is_not(None), Publication.state.in_(verification.WATCHED))
            .order_by(Publication.id)
        )
        if submission is not None:
            query = query.where(Publication.submission_id == submission)
        return list(session.scalars(query))


@app.command("verify", help="发布核验：抓取线上页面并与签发版本比对（一个发布、一篇稿件或全部）")
def verify_cmd(
    pub_id: Annotated[
        int | None, typer.Argument(metavar="[发布编号]", help="某一渠道发布的编号")
    ] = None,
    actor: ActorOpt = "",
    submission: Annotated[int | None, typer.Option(help="核验该稿件的全部线上页面")] = None,
    every: Annotated[bool, typer.Option("--all", help="核验全部线上页面")] = False,
    as_json: JsonOpt = False,
) -> None:
    def work() -> list[dict[str, Any]]:
        if not actor:
            raise InvalidInput("请用 --as 指定操作人", code="actor_required")
        app_ = ctx().app
        hub = hub_for(app_.settings.data_dir)
        targets = _targets(pub_id, submission, every)
        return [c.as_dict() for c in verification.verify_as(app_, hub, targets, actor=actor)]

    def status(rows: list[dict[str, Any]]) -> int:
        return 0 if all(r["verdict"] == "consistent" for r in rows) else 3

    run(as_json, work, _show, status)


@pub_app.command(
    "published-by-hand",
    help="人工发布渠道：已在平台后台发布，登记文章链接与编号（须输入密码以签名），随即核验页面",
)
def published_by_hand(
    pub_id: PublicationArg,
    url: Annotated[str, typer.Option(help="平台上的文章链接")],
    actor: ActorOpt,
    external_id: Annotated[str, typer.Option("--id", help="平台的文章编号（如有）")] = "",
    comment: Annotated[str, typer.Option(help="备注（签入签名）")] = "",
    password_stdin: PwOpt = False,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        password = read_password(password_stdin)
        app_ = ctx().app
        done = manual.record_published(
            app_,
            hub_for(app_.settings.data_dir),
            pub_id,
            url=url,
            external_id=external_id,
            actor=actor,
            password=password,
            comment=comment,
        )
        checked = done.checked.as_dict() if done.checked else None
        return {"publication": pub_id, "action": done.action_id, "verification": checked}

    def show(r: dict[str, Any]) -> None:
        typer.echo(f"发布 {pub_id} 已登记人工发布：{url}")
        if r["verification"]:
            _show([r["verification"]])

    run(as_json, work, show)


@pub_app.command(
    "taken-down", help="人工发布渠道：已在平台后台撤下稿件，核验页面确已删除后完成撤稿"
)
def taken_down(pub_id: PublicationArg, actor: ActorOpt, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        app_ = ctx().app
        checked = manual.confirm_taken_down(
            app_, hub_for(app_.settings.data_dir), pub_id, actor=actor
        )
        return checked.as_dict()

    def status(r: dict[str, Any]) -> int:
        return 0 if r["state"] == State.RETRACTED.value else 3

    run(as_json, work, lambda r: _show([r]), status)


@pub_app.command("verifications", help="查看一个发布的核验记录（时间、结论、页面哈希）")
def verifications_cmd(pub_id: PublicationArg, as_json: JsonOpt = False) -> None:
    def work() -> list[dict[str, Any]]:
        with ctx().session() as session:
            get_publication(session, pub_id)
            return [
                {
                    "id": v.id,
                    "checked_at": v.checked_at,
                    "trigger": v.trigger,
                    "verdict": v.verdict,
                    "code": v.code,
                    "reason": v.reason,
                    "page_sha256": v.page_sha256,
                    "snapshot_sha256": v.snapshot_sha256,
                }
                for v in verification.history(session, pub_id)
            ]

    def show(rows: list[dict[str, Any]]) -> None:
        if not rows:
            typer.echo("（尚未核验）")
            return
        lines = [
            (
                local(v["checked_at"]),
                verification.TRIGGER_LABELS.get(v["trigger"], v["trigger"]),
                Verdict(v["verdict"]).label,
                v["page_sha256"][:16] or "—",
                v["reason"],
            )
            for v in rows
        ]
        typer.echo(table(lines, ("核验时间", "触发", "结论", "页面 SHA-256", "说明")))

    run(as_json, work, show)
