"""`sanshen channel`: pause a channel's sends, resume it, see which are paused."""

from __future__ import annotations

from typing import Annotated, Any

import redis
import typer

from channels.registry import load_channels
from orchestrator.cli.base import (
    ActorOpt,
    JsonOpt,
    ReasonOpt,
    app,
    channel_code,
    channel_label,
    ctx,
    local,
    run,
)
from orchestrator.errors import SanshenError
from orchestrator.services import pauses
from orchestrator.services.hub import RedisRateGate, shared_gate

channel_app = typer.Typer(help="渠道：暂停发送、恢复、查看暂停状态", no_args_is_help=True)
app.add_typer(channel_app, name="channel")

NameArg = Annotated[
    str,
    typer.Argument(
        metavar="渠道", help="渠道，如 政府网站（或 gov_website）、微信公众号", show_default=False
    ),
]


def _gate() -> RedisRateGate:
    return shared_gate(ctx().app.settings)


def _broker_errors(work: Any) -> Any:
    """A broker that stops answering mid-command is said in Chinese, not as a traceback."""

    def guarded() -> Any:
        try:
            return work()
        except redis.RedisError as error:
            raise SanshenError(
                f"无法连接消息队列（Redis）：{error}", code="broker_unavailable"
            ) from None

    return guarded


def _show_states(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["paused"]:
            who = "平台要求" if row["by"] == "platform" else row["by"]
            typer.echo(
                f"{row['label']}（{row['channel']}）：已暂停至 {local(row['until'])}"
                f"，{who}：{row['reason']}"
            )
        else:
            typer.echo(f"{row['label']}（{row['channel']}）：正常发送")


@channel_app.command(
    "pause", help="暂停一个渠道的发送（到期自动恢复；角色：政府网站运行科、综合科或值守运维）"
)
def channel_pause(
    name: NameArg,
    actor: ActorOpt,
    reason: ReasonOpt,
    minutes: Annotated[int, typer.Option(help="暂停多少分钟（1 到 10080）")] = 60,
    as_json: JsonOpt = False,
) -> None:
    code = channel_code(name)

    def work() -> dict[str, Any]:
        classes = load_channels()
        pauses.pause(ctx().app, _gate(), classes, code, minutes=minutes, reason=reason, actor=actor)
        return pauses.states(_gate(), {code: classes[code]})[0]

    run(as_json, _broker_errors(work), lambda row: _show_states([row]))


@channel_app.command("resume", help="恢复一个渠道的发送（人工或平台的暂停均可解除）")
def channel_resume(name: NameArg, actor: ActorOpt, as_json: JsonOpt = False) -> None:
    code = channel_code(name)

    def work() -> dict[str, Any]:
        return pauses.resume(ctx().app, _gate(), load_channels(), code, actor=actor)

    def show(result: dict[str, Any]) -> None:
        was = "已恢复发送" if result["was_paused"] else "本来未暂停"
        shown = f"{channel_label(code)}（{code}）"
        typer.echo(f"{shown}：{was}；{result['rows_due_now']} 条等待中的发布现在到期")

    run(as_json, _broker_errors(work), show)


@channel_app.command("status", help="各渠道是否暂停、到何时、因何")
def channel_status(
    name: Annotated[
        str | None, typer.Argument(metavar="渠道", help="只看这个渠道", show_default=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> list[dict[str, Any]]:
        classes = load_channels()
        if name is not None:
            code = channel_code(name)
            classes = {code: pauses.channel_class(classes, code)}
        return pauses.states(_gate(), classes)

    run(as_json, _broker_errors(work), _show_states)
