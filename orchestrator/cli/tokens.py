"""API tokens for scripts: `sanshen token create`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from orchestrator.cli.base import ActorOpt, JsonOpt, PwOpt, app, ctx, local, read_password, run
from orchestrator.errors import Unauthenticated
from orchestrator.models import utcnow
from orchestrator.web import auth

token_app = typer.Typer(help="API 令牌（供脚本调用 /api/v1）", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create", help="为本人创建 API 令牌（须输入本人密码）；令牌只显示这一次")
def token_create(
    actor: ActorOpt,
    name: Annotated[str, typer.Option(help="令牌名称，如 发布脚本")],
    days: Annotated[int | None, typer.Option(min=1, max=3650, help="有效天数，缺省不过期")] = None,
    password_stdin: PwOpt = False,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        password = read_password(password_stdin, "请输入您的密码")
        settings = ctx().app.settings
        refusal: Unauthenticated | None = None
        with ctx().session() as session:
            # A wrong password is committed too, so it counts towards the lock-out.
            try:
                auth.check_password(session, actor, password, settings, now=utcnow())
            except Unauthenticated as error:
                refusal = error
            if refusal is None:
                token, row = auth.create_token(session, actor, name, days=days)
                result = {
                    "id": row.id,
                    "name": row.name,
                    "token": token,
                    "expires_at": row.expires_at,
                }
        if refusal is not None:
            raise refusal
        return result

    def show(r: dict[str, Any]) -> None:
        expiry = local(r["expires_at"]) if r["expires_at"] else "不过期"
        typer.echo(f"令牌 {r['id']}（{r['name']}，有效期至：{expiry}），只显示这一次：")
        typer.echo(r["token"])

    run(as_json, work, show)
