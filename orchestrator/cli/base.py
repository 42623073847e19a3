"""What every command shares: the Typer app, the context, output and refusals."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from gate.model import STAGE_LABELS, ReviewStage, Role
from orchestrator import config_check
from orchestrator.app import App
from orchestrator.cli import chinese
from orchestrator.errors import InvalidInput, SanshenError
from orchestrator.migrate import ensure_schema
from orchestrator.services.submissions import channel_catalogue
from orchestrator.states import State

SHANGHAI = ZoneInfo("Asia/Shanghai")

chinese.install()
app = typer.Typer(
    cls=chinese.ChineseGroup,  # Typer's own texts (usage, help, errors) in Chinese
    help="三审发布：政务信息“三审”审核与多渠道发布",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="数据库维护", no_args_is_help=True)
person_app = typer.Typer(help="人员与角色", no_args_is_help=True)
submission_app = typer.Typer(help="稿件与版本", no_args_is_help=True)
gate_app = typer.Typer(help="审核闸门", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(person_app, name="person")
app.add_typer(submission_app, name="submission")
app.add_typer(gate_app, name="gate")
app.add_typer(audit_app, name="audit")

JsonOpt = Annotated[bool, typer.Option("--json", help="以 JSON 输出（供脚本使用）")]
STAGE_BY_NAME = {s.value: s for s in ReviewStage} | {label: s for s, label in STAGE_LABELS.items()}
STAGE_BY_NAME["主要领导"] = ReviewStage.PRINCIPAL


class Context:
    def __init__(self, data_dir: Path | None) -> None:
        self.app = App(config_check.settings_or_exit(data_dir))

    @contextmanager
    def session(self) -> Iterator[Session]:
        ensure_schema(self.app.db)
        with self.app.db.session() as session:
            yield session


_ctx: Context | None = None


@app.callback()
def _main(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", envvar="SANSHEN_DATA_DIR", help="数据目录（缺省 ./sanshen-data）"
        ),
    ] = None,
) -> None:
    global _ctx
    _ctx = Context(data_dir)


def ctx() -> Context:
    assert _ctx is not None
    return _ctx


def fail(error: SanshenError, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps(error.as_dict(), ensure_ascii=False))
    else:
        typer.secho(f"错误：{error.message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(error.exit_code)


def run(
    as_json: bool,
    work: Callable[[], Any],
    show: Callable[[Any], None],
    status: Callable[[Any], int] = lambda _: 0,
) -> None:
    """Do the work; print its result as JSON or for people; turn refusals into exit codes."""
    try:
        result = work()
    except SanshenError as error:
        fail(error, as_json)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        show(result)
    code = status(result)
    if code:
        raise typer.Exit(code)


def local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


# People read names, not codes (`--json` keeps the codes, for scripts).


def channel_label(code: str) -> str:
    """微信公众号 for wechat; the code itself for a channel no longer registered."""
    return _channel_labels().get(code, code)


@cache
def _channel_labels() -> dict[str, str]:
    try:
        return channel_catalogue()
    except SanshenError:  # a broken registry is reported by the command that needs it
        return {}


def channel_code(text: str) -> str:
    """A channel as a person may give it (政府网站 or gov_website) as its code; anything else
    unchanged, for the command to refuse with the list of channels."""
    by_label = {label: code for code, label in _channel_labels().items()}
    return by_label.get(text.strip(), text)


def state_code(text: str) -> str:
    """A publication state as a person may give it (失败 or failed) as its code."""
    return {label: code for code, label in STATE_LABEL_BY_CODE.items()}.get(text.strip(), text)


def role_labels(codes: Iterable[str]) -> str:
    return "、".join(ROLE_LABEL_BY_CODE.get(code, code) for code in codes)


STATE_LABEL_BY_CODE = {state.value: state.label for state in State}
ROLE_LABEL_BY_CODE = {role.value: role.label for role in Role}


def read_password(password_stdin: bool, prompt: str = "请输入您的密码以解锁签名私钥") -> str:
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InvalidInput("标准输入中没有密码", code="no_password")
        return line.rstrip("\n")
    return str(typer.prompt(prompt, hide_input=True))


# Arguments are named in Chinese (the metavar shows in the usage line and in errors).
SubmissionArg = Annotated[int, typer.Argument(metavar="稿件编号", help="稿件编号")]
PublicationArg = Annotated[
    int, typer.Argument(metavar="发布编号", help="某一渠道发布的编号（见 sanshen publications）")
]
UsernameArg = Annotated[str, typer.Argument(metavar="用户名", help="人员的用户名")]
RoleArg = Annotated[str, typer.Argument(metavar="角色", help="角色代码或名称，如 初审、科室负责人")]
ActorOpt = Annotated[str, typer.Option("--as", help="操作人用户名")]
CommentOpt = Annotated[str, typer.Option(help="审核意见")]
PwOpt = Annotated[bool, typer.Option(help="从标准输入读取密码（供脚本使用）")]
ReasonOpt = Annotated[str, typer.Option(help="原因")]
