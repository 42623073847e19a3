"""The root command's class and what it does to the whole tree: Chinese usage line, `--help`
text, parameter classes and completion options; Typer's help labels (`install`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from typer import rich_utils
from typer._click.core import Command, Context, Parameter
from typer._click.formatting import HelpFormatter
from typer.core import TyperArgument, TyperGroup, TyperOption

from orchestrator.cli.chinese.completion import COMPLETION
from orchestrator.cli.chinese.errors import chinese_errors
from orchestrator.cli.chinese.params import ChineseArgument, ChineseOption

USAGE_PREFIX = "用法："
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."
HELP_OPTION_HELP = "显示本帮助并退出"
RICH_LABELS = {
    "DEPRECATED_STRING": "（已停用）",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "运行 [blue]{command_path} {help_option}[/] 查看帮助。",
}


def install() -> None:
    """Chinese labels for Typer's help panels and error box (module constants it reads when
    it prints)."""
    for name, text in RICH_LABELS.items():
        setattr(rich_utils, name, text)


class ChineseFormatter(HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, USAGE_PREFIX if prefix is None else prefix)


class ChineseContext(Context):
    formatter_class = ChineseFormatter


class ChineseGroup(TyperGroup):
    """The root command: localizes the tree, and re-raises Click's errors in Chinese."""

    context_class = ChineseContext

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        localize(self)
        with chinese_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with chinese_errors():
            return super().invoke(ctx)


def localize(root: Command) -> None:
    """Every command below `root` (and `root`): Chinese usage line, `--help` text, value types
    and completion replies."""
    for command in _tree(root):
        command.context_class = ChineseContext
        if command.options_metavar:
            command.options_metavar = OPTIONS_METAVAR
        if isinstance(command, TyperGroup):
            command.subcommand_metavar = SUBCOMMAND_METAVAR
        help_option = command.get_help_option(ChineseContext(command))
        if help_option is not None:
            help_option.help = HELP_OPTION_HELP
            _localize_param(help_option)
        for param in command.params:
            _localize_param(param)


def _localize_param(param: Parameter) -> None:
    # Typer builds its parameter objects itself (no hook for a class of ours): each one takes
    # the Chinese subclass of its own class, which only changes how it is described.
    if type(param) is TyperOption:
        param.__class__ = ChineseOption
    elif type(param) is TyperArgument:
        param.__class__ = ChineseArgument
    if isinstance(param, TyperOption) and param.name in COMPLETION:
        param.help, param.callback = COMPLETION[param.name]


def _tree(command: Command) -> Iterator[Command]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _tree(sub)
