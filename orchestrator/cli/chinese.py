"""Chinese for what Typer itself prints: the help's labels, the usage line, usage errors, and
the reason an operating-system call failed.

Typer (0.29) carries its own copy of Click (`typer._click`) without a gettext catalog: its
errors are English f-strings inside exception classes, its help labels constants in
`typer.rich_utils`. So they are translated at the boundary, in this one module:

- `install()` sets `typer.rich_utils`'s labels (panel titles, "[default: …]", the hint line);
- `ChineseGroup`, the root command's class (`typer.Typer(cls=ChineseGroup)`), gives every
  command of the tree, before parsing, a context whose formatter writes "用法：", the
  "[选项]"/"命令 [参数]..." placeholders and a Chinese `--help` line; it makes every parameter
  a `ChineseOption` or `ChineseArgument` (Typer's own class with the value type, range and
  default said in Chinese: `<整数>`, `[至少 1]`, `[默认：--no-publish]`; no type for a flag) and
  gives the completion options Chinese help and replies; and it turns every
  `ClickException` raised while parsing or invoking into one with a Chinese `message`, which
  Typer then prints as usual (same panel, same exit code);
- `os_reason(error)` is an `OSError` in Chinese, in place of the OS's English `strerror`.

`message` knows each exception class the vendored Click raises and the texts inside them; a
text it does not know keeps a Chinese lead ("命令行有误：…"), so nothing is shown in English
alone.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any, get_args

from typer import _completion_shared, rich_utils
from typer._click.core import Command, Context, Parameter
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    ClickException,
    FileError,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer._click.formatting import HelpFormatter
from typer._click.utils import echo
from typer._coercion import TypeDescriptor
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.exceptions import Exit

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


# --- value types, ranges and defaults in help ----------------------------------------------

TYPE_LABELS: dict[type, str] = {
    str: "文本",
    int: "整数",
    float: "数字",
    bool: "是/否",
    date: "日期",
    datetime: "日期时间",
    time: "时间",
}
PATH_LABELS = {"path": "路径", "file": "文件", "dir": "目录"}  # Typer's path_type names


def type_label(desc: TypeDescriptor) -> str | None:
    """A parameter's value type as the help shows it: `<整数>`, `<路径>...`; None for choices,
    which Typer shows as they are typed (`<week|month>`)."""
    if desc.is_choice:
        return None
    annotation: Any = desc.annotation
    if desc.is_list:
        (annotation,) = get_args(annotation)
        return f"<{_value_label(annotation, desc)}>..."
    if desc.is_tuple:
        return "<" + "，".join(_value_label(a, desc) for a in get_args(annotation)) + ">"
    if desc.is_datetime and desc.parameter_info.formats:
        return "<" + "|".join(map(date_format, desc.parameter_info.formats)) + ">"
    return f"<{_value_label(annotation, desc)}>"


def _value_label(annotation: Any, desc: TypeDescriptor) -> str:
    if desc.is_path or (isinstance(annotation, type) and issubclass(annotation, PurePath)):
        return PATH_LABELS.get(desc.path_type, "路径")
    return TYPE_LABELS.get(annotation, "值")


STRPTIME = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH", "%M": "MM", "%S": "SS"}


def date_format(strptime: str) -> str:
    """`%Y-%m-%d` as people write it: YYYY-MM-DD."""
    return re.sub("|".join(STRPTIME), lambda m: STRPTIME[m[0]], strptime)


def range_label(low: float | None, high: float | None) -> str | None:
    """`[至少 1]`, `[至多 10]`, `[1 至 3650]` (Typer's `x>=1`)."""
    if low is None and high is None:
        return None
    if high is None:
        return f"至少 {low}"
    if low is None:
        return f"至多 {high}"
    return f"{low} 至 {high}"


class ChineseArgument(TyperArgument):
    """Typer's argument, its value type and range said in Chinese."""

    def display_type(self, ctx: Context) -> str:
        return type_label(self.type_descriptor) or super().display_type(ctx)

    def _get_number_range_help_str(self) -> str | None:
        return range_label(self.min, self.max)


class ChineseOption(TyperOption):
    """Typer's option, its value type, range and default said in Chinese; a flag shows no
    type (Typer's "<bool>" would ask for a value it does not take)."""

    def display_type(self, ctx: Context) -> str:
        return type_label(self.type_descriptor) or super().display_type(ctx)

    def display_type_rich(self, ctx: Context) -> str | None:
        return None if self.is_flag and not self.count else super().display_type_rich(ctx)

    def _get_number_range_help_str(self) -> str | None:
        counted = self.count and self.min == 0 and self.max is None
        return None if counted else range_label(self.min, self.max)

    def _get_default_string(
        self, *, ctx: Context, show_default_is_str: bool, default_value: Any
    ) -> str:
        if not show_default_is_str and self.is_bool_flag and self.secondary_opts:
            return (self.opts if default_value else self.secondary_opts)[0]  # --no-publish
        return super()._get_default_string(
            ctx=ctx, show_default_is_str=show_default_is_str, default_value=default_value
        )


# --- shell completion ---------------------------------------------------------------------

SHELLS = tuple(shell.value for shell in _completion_shared.Shells)


def _completion_shell(value: Any) -> str:
    """The shell asked for (`--install-completion zsh`) or the one running; refused in
    Chinese when Typer has no script for it."""
    shell = value if isinstance(value, str) else None
    if shell is None and not os.getenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"):
        shell = _completion_shared._get_shell_name()
    if shell not in SHELLS:
        echo(f"无法为 {shell or '当前终端'} 提供命令补全（支持：{'、'.join(SHELLS)}）", err=True)
        raise Exit(1)
    return shell


def _install_completion(ctx: Context, param: Parameter, value: Any) -> Any:
    if not value or ctx.resilient_parsing:
        return value
    shell, path = _completion_shared.install(shell=_completion_shell(value))
    echo(f"已为 {shell} 安装命令补全：{path}")
    echo("重新打开终端后生效")
    raise Exit(0)


def _show_completion(ctx: Context, param: Parameter, value: Any) -> Any:
    if not value or ctx.resilient_parsing:
        return value
    prog = ctx.find_root().info_name or "sanshen"
    variable = "_{}_COMPLETE".format(prog.replace("-", "_").upper())
    shell = _completion_shell(value)
    echo(
        _completion_shared.get_completion_script(prog_name=prog, complete_var=variable, shell=shell)
    )
    raise Exit(0)


COMPLETION: dict[str, tuple[str, Callable[[Context, Parameter, Any], Any]]] = {
    "install_completion": ("为当前终端安装命令补全", _install_completion),
    "show_completion": ("显示当前终端的命令补全脚本（可复制或自行安装）", _show_completion),
}


class ChineseUsageError(UsageError):
    """A usage error whose message is already Chinese."""


class ChineseClickError(ClickException):
    """Any other Click error, its message already Chinese."""


@contextmanager
def chinese_errors() -> Iterator[None]:
    """Re-raise a `ClickException` as one whose message is `message(error)`."""
    try:
        yield
    except (NoArgsIsHelpError, ChineseUsageError, ChineseClickError):
        raise  # NoArgsIsHelpError: the help it carries is already printed
    except ClickException as error:
        chinese: ClickException
        if isinstance(error, UsageError):
            chinese = ChineseUsageError(message(error), error.ctx)
        else:
            chinese = ChineseClickError(message(error))
        chinese.exit_code = error.exit_code
        raise chinese from error


# --- messages -----------------------------------------------------------------------------


def message(error: ClickException) -> str:
    """`error` as a person reads it, in Chinese."""
    if isinstance(error, MissingParameter):
        return _missing(error)
    if isinstance(error, NoSuchOption):
        text = f"没有这个选项：{error.option_name}"
        if error.possibilities:
            text += f"（您是不是要用 {'、'.join(sorted(error.possibilities))}？）"
        return text
    if isinstance(error, BadOptionUsage):
        return _translated(error.message, OPTION_USAGE) or _unknown(error)
    if isinstance(error, BadParameter):
        return f"{_label(error)}的值无效：{_reason(error)}"
    if isinstance(error, FileError):
        return f"无法打开文件：{error.ui_filename}（{_strerror(error.message)}）"
    if isinstance(error, UsageError):
        return _translated(error.message, USAGE) or _unknown(error)
    return _unknown(error)


Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _rules(*pairs: tuple[str, Callable[[re.Match[str]], str]]) -> list[Rule]:
    return [(re.compile(pattern, re.DOTALL), render) for pattern, render in pairs]


def _suggest(names: str | None) -> str:
    """Typer's "'gate', 'gates'" as “gate”、“gates”."""
    if not names:
        return ""
    quoted = "、".join(f"“{name.strip().strip(chr(39))}”" for name in names.split(","))
    return f"（您是不是要用 {quoted}？）"


USAGE = _rules(
    (r"^Got unexpected extra argument(?:s|\(s\))? \((.*)\)$", lambda m: f"多余的参数：{m[1]}"),
    (
        r"^No such command '(.*?)'\.?(?: Did you mean (.*)\?)?$",
        lambda m: f"没有这个命令：{m[1]}{_suggest(m[2])}",
    ),
    (r"^Missing command\.$", lambda m: "缺少命令：请在后面写上要执行的命令"),
    (r"^Argument '(.*)' takes (\d+) values\.$", lambda m: f"参数 {m[1]} 需要 {m[2]} 个值"),
    (r"^Value (.*) is not a valid (.*)\.$", lambda m: f"值 {m[1]} 无效"),
)
OPTION_USAGE = _rules(
    (r"^Option '(.*)' requires an argument\.$", lambda m: f"选项 {m[1]} 后面需要一个值"),
    (r"^Option '(.*)' requires (\d+) arguments\.$", lambda m: f"选项 {m[1]} 后面需要 {m[2]} 个值"),
    (r"^Option '(.*)' does not take a value\.$", lambda m: f"选项 {m[1]} 不接受值"),
)
_PATH = r"^(?:File|Directory|Path) '(.*)'"
PARAMETER = _rules(
    (_PATH + r" does not exist\.$", lambda m: f"找不到 {m[1]}"),
    (_PATH + r" is a file\.$", lambda m: f"{m[1]} 是文件，应为目录"),
    (_PATH + r" is a directory\.$", lambda m: f"{m[1]} 是目录，应为文件"),
    (
        r"^(?:File|Directory|Path) '(.*)' is not readable\.$",
        lambda m: f"无法读取 {m[1]}（权限不足）",
    ),
    (
        r"^(?:File|Directory|Path) '(.*)' is not writable\.$",
        lambda m: f"无法写入 {m[1]}（权限不足）",
    ),
    (r"^Value must be an iterable\.$", lambda m: "应为一个或多个值"),
    (r"^Value (.*) is not a valid (.*)\.$", lambda m: f"{m[1]} 不是有效的值"),
    (r"^(?:Value error, )?(.*) is not one of (.*)\.$", lambda m: f"{m[1]} 不在可选值中（{m[2]}）"),
    (
        r"^(?:Value error, )?(.*) does not match the formats (.*)\.$",
        lambda m: f"{m[1]} 不符合格式 {date_format(m[2])}",
    ),
    (r"^(?:Value error, )?value is not a valid tuple$", lambda m: "应为一组值"),
    (
        r"^(?:Value error, )?(\d+) values are required, but (\d+) given\.$",
        lambda m: f"需要 {m[1]} 个值，收到 {m[2]} 个",
    ),
)

# pydantic's error types (Typer 0.29 converts values with pydantic) -> the reason in Chinese
PYDANTIC: dict[str, Callable[[dict[str, Any]], str]] = {
    "int_parsing": lambda c: "应为整数",
    "int_type": lambda c: "应为整数",
    "int_from_float": lambda c: "应为整数",
    "float_parsing": lambda c: "应为数字",
    "float_type": lambda c: "应为数字",
    "bool_parsing": lambda c: "应为 true 或 false",
    "bool_type": lambda c: "应为 true 或 false",
    "greater_than_equal": lambda c: f"不能小于 {c.get('ge')}",
    "greater_than": lambda c: f"应大于 {c.get('gt')}",
    "less_than_equal": lambda c: f"不能大于 {c.get('le')}",
    "less_than": lambda c: f"应小于 {c.get('lt')}",
    "date_parsing": lambda c: "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": lambda c: "应为日期（YYYY-MM-DD）",
    "datetime_parsing": lambda c: "应为日期时间（YYYY-MM-DD HH:MM:SS）",
    "datetime_from_date_parsing": lambda c: "应为日期时间（YYYY-MM-DD HH:MM:SS）",
    "enum": lambda c: f"应为以下之一：{c.get('expected')}",
    "literal_error": lambda c: f"应为以下之一：{c.get('expected')}",
    "string_too_short": lambda c: f"至少 {c.get('min_length')} 个字符",
    "string_too_long": lambda c: f"最多 {c.get('max_length')} 个字符",
    "missing": lambda c: "缺少值",
}


def _translated(text: str, rules: Sequence[Rule]) -> str | None:
    for pattern, render in rules:
        found = pattern.match(text.strip())
        if found:
            return render(found)
    return None


def _unknown(error: ClickException) -> str:
    return f"命令行有误：{error.format_message()}"


def _label(error: BadParameter) -> str:
    """“稿件编号” for an argument (its metavar, else its name), --port for an option."""
    param = error.param
    if error.param_hint is not None:
        hint = error.param_hint
        return f"参数 {hint if isinstance(hint, str) else ' / '.join(hint)} "
    if param is None:
        return "参数"
    if param.param_type_name == "argument":
        return f"参数“{param.metavar or param.name}”"
    return f"选项 {' / '.join(param.opts)} "


def _missing(error: MissingParameter) -> str:
    param = error.param
    if param is not None and param.param_type_name == "option":
        what = f"选项 {' / '.join(param.opts)}"
    elif param is not None:
        what = f"参数“{param.metavar or param.name}”"
    else:
        what = "参数"
    return f"缺少{what}"


def _reason(error: BadParameter) -> str:
    cause = error.__cause__
    if isinstance(cause, OSError):  # a file Typer opened (typer.FileText and the like)
        return os_reason(cause)
    errors = getattr(cause, "errors", None)
    if callable(errors):  # pydantic.ValidationError
        found = errors()
        if found:
            first = found[0]
            render = PYDANTIC.get(str(first.get("type")))
            if render is not None:
                given = first.get("input")
                shown = f"（收到“{given}”）" if isinstance(given, str | int | float) else ""
                return render(first.get("ctx") or {}) + shown
    return _translated(error.message, PARAMETER) or f"格式不对（{error.message}）"


# --- the operating system -----------------------------------------------------------------

OS_REASONS = {
    errno.ENOENT: "文件或目录不存在",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.EACCES: "权限不足",
    errno.EPERM: "权限不足",
    errno.EISDIR: "这是一个目录",
    errno.EEXIST: "已经存在",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "只读的文件系统",
    errno.ENAMETOOLONG: "文件名太长",
    errno.EMFILE: "打开的文件太多",
    errno.EADDRINUSE: "地址已被占用",
    errno.EADDRNOTAVAIL: "本机没有这个地址",
    errno.ECONNREFUSED: "连接被拒绝",
    errno.ETIMEDOUT: "超时",
}
_STRERRORS = {
    "No such file or directory": errno.ENOENT,
    "Permission denied": errno.EACCES,
    "Is a directory": errno.EISDIR,
    "Not a directory": errno.ENOTDIR,
}


def os_reason(error: OSError) -> str:
    """Why an OS call failed, in Chinese: by its errno, never its English strerror."""
    if error.errno in OS_REASONS:
        return OS_REASONS[error.errno]
    if error.errno is not None:
        return f"系统错误 {errno.errorcode.get(error.errno, error.errno)}"
    return "系统错误"


def _strerror(text: str) -> str:
    code = _STRERRORS.get(text.strip())
    return OS_REASONS[code] if code is not None else "系统错误"
