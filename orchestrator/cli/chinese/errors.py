"""Click's errors in Chinese: `chinese_errors()` re-raises every `ClickException` with the
message `message(error)` gives, by exception class and by the English text inside it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from typer._click.core import Parameter
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

from orchestrator.cli.chinese.oserrors import os_reason, strerror
from orchestrator.cli.chinese.params import date_format


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
        return f"无法打开文件：{error.ui_filename}（{strerror(error.message)}）"
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
Reason = Callable[[dict[str, Any]], str]  # the error's context -> the reason


def _says(text: str) -> Reason:
    """A reason that needs nothing from the error's context."""
    return lambda c: text


PYDANTIC: dict[str, Reason] = {
    **dict.fromkeys(("int_parsing", "int_type", "int_from_float"), _says("应为整数")),
    **dict.fromkeys(("float_parsing", "float_type"), _says("应为数字")),
    **dict.fromkeys(("bool_parsing", "bool_type"), _says("应为 true 或 false")),
    "greater_than_equal": lambda c: f"不能小于 {c.get('ge')}",
    "greater_than": lambda c: f"应大于 {c.get('gt')}",
    "less_than_equal": lambda c: f"不能大于 {c.get('le')}",
    "less_than": lambda c: f"应小于 {c.get('lt')}",
    **dict.fromkeys(
        ("date_parsing", "date_from_datetime_parsing"), _says("应为日期（YYYY-MM-DD）")
    ),
    **dict.fromkeys(
        ("datetime_parsing", "datetime_from_date_parsing"),
        _says("应为日期时间（YYYY-MM-DD HH:MM:SS）"),
    ),
    **dict.fromkeys(("enum", "literal_error"), lambda c: f"应为以下之一：{c.get('expected')}"),
    "string_too_short": lambda c: f"至少 {c.get('min_length')} 个字符",
    "string_too_long": lambda c: f"最多 {c.get('max_length')} 个字符",
    "missing": _says("缺少值"),
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
        return _named(param)
    return f"{_named(param)} "


def _missing(error: MissingParameter) -> str:
    return f"缺少{_named(error.param) if error.param is not None else '参数'}"


def _named(param: Parameter) -> str:
    """An option by its flags (选项 --port / -p), an argument by its metavar, else its name."""
    if param.param_type_name == "option":
        return f"选项 {' / '.join(param.opts)}"
    return f"参数“{param.metavar or param.name}”"


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
