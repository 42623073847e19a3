"""No English word in what `sanshen` prints of its own: every command's `--help` (the command
tree is walked, so a command added later is checked too) and the usual usage errors.

What may stay in Latin letters is a rule, not a list of exceptions found along the way:

- what a person types: options (`--json`), command names, env variables and placeholders in
  capitals (`SANSHEN_DATA_DIR`, `YYYY-MM-DD`), the codes the program accepts (channel, state,
  role, stage, period, archive kind, shell), anything in backticks, a default value;
- paths, URLs, file names and extensions (anything with a `/` or a `.`);
- abbreviations in capitals (JSON, PDF, UTF-8) and the names of products (`PRODUCTS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pytest
import typer
import typer.main
from typer._click.core import Command
from typer.testing import CliRunner

from gate.model import ReviewStage, Role
from orchestrator.cli import app, chinese
from orchestrator.reports.archive import KIND_LABELS
from orchestrator.reports.statistics import PERIOD_LABELS
from orchestrator.services.submissions import channel_catalogue
from orchestrator.states import State

PRODUCTS = {"Word", "Excel", "Redis", "Celery", "SQLite", "PostgreSQL", "LibreOffice", "Ctrl-C"}
TOKEN = re.compile(r"[A-Za-z0-9_.:/+\-]+")
LETTERS = re.compile(r"[A-Za-z]{2,}")
TYPED = re.compile(r"`[^`]*`|\[默认：[^\]]*\]")  # in backticks, or a default value


def tree(command: Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Command]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from tree(sub, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = [path for path, _ in tree(ROOT)]
CODES = (
    {"sanshen", *(word for path in COMMANDS for word in path), *chinese.SHELLS}
    | set(channel_catalogue())
    | {s.value for s in State}
    | {r.value for r in Role}
    | {s.value for s in ReviewStage}
    | set(PERIOD_LABELS)
    | set(KIND_LABELS)
)


def english_words(text: str, codes: set[str] = CODES) -> list[str]:
    """The runs of Latin letters in `text` that the rule above does not allow."""
    found = []
    for token in TOKEN.findall(TYPED.sub(" ", text)):
        token = token.rstrip(".:")  # a sentence's full stop is not a file name
        allowed = (
            not LETTERS.search(token)
            or token.startswith("-")
            or "/" in token
            or "." in token
            or token.upper() == token
            or token in codes
            or token in PRODUCTS
        )
        if not allowed:
            found.append(token)
    return found


def show(*args: str, target: typer.Typer = app) -> tuple[int, str]:
    result = CliRunner().invoke(target, list(args), prog_name="sanshen", env={"COLUMNS": "250"})
    return result.exit_code, result.output


# --- the rule itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("Show this message and exit.", ["Show", "this", "message", "and", "exit"]),
        ("[default: 60] [required]", ["default", "required"]),
        ("--port <int range> [x>=1]", ["int", "range"]),
        ("Usage: sanshen review [OPTIONS] {稿件编号}", ["Usage"]),
        ("状态，如 失败（或 failed）；--json；SANSHEN_DATA_DIR；YYYY-MM-DD", []),
        ("渠道，如 wechat；Word 稿件（.docx）；REST API（/api/v1）；Ctrl-C 停止", []),
        ('正文 `<img src="x">`；[默认：system]；index.csv', []),
    ],
)
def test_the_rule_finds_english_words_and_lets_codes_pass(text: str, english: list[str]) -> None:
    assert english_words(text) == english


def test_the_rule_catches_typers_own_help() -> None:
    """Typer without chinese.py: the walk's check would fail on it."""
    plain = typer.Typer(add_completion=False)

    @plain.command()
    def hello(count: Annotated[int, typer.Option(min=1, help="次数")] = 1) -> None:
        pass

    code, shown = show("--help", target=plain)
    assert code == 0
    assert {"Usage", "Show", "message", "int", "range"} <= set(english_words(shown)), shown


# --- the whole tree ------------------------------------------------------------------------


def test_the_walk_sees_every_command() -> None:
    assert ("review",) in COMMANDS and ("publication", "show") in COMMANDS
    assert len(COMMANDS) > 60


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "sanshen")
def test_help_has_no_english_word(path: tuple[str, ...]) -> None:
    code, shown = show(*path, "--help")
    assert code == 0, shown
    assert shown.lstrip().startswith("用法：sanshen"), shown
    assert english_words(shown) == [], shown


def test_value_types_are_chinese_and_flags_show_none() -> None:
    _, review = show("review", "--help")
    assert "<整数>" in review and "<文本>" in review and "<bool>" not in review
    assert "[默认：--no-password-stdin]" in review
    _, worker = show("worker", "--help")
    assert "<整数> [至少 1]" in worker
    _, token = show("token", "create", "--help")
    assert "[1 至 3650]" in token
    _, form = show("form", "--help")
    assert "<整数>..." in form


# --- usage errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nosuch"], "没有这个命令：nosuch"),
        (["gaet"], "没有这个命令：gaet（您是不是要用 “gate”？）"),
        (["gate", "check"], "缺少参数“稿件编号”"),
        (["gate", "check", "abc"], "参数“稿件编号”的值无效：应为整数（收到“abc”）"),
        (["gate", "check", "1", "2"], "多余的参数：2"),
        (["review", "1"], "缺少选项 --stage"),
        (["review", "1", "--bogus"], "没有这个选项：--bogus"),
        (["review", "1", "--as"], "选项 --as 后面需要一个值"),
        (["demo", "--publish=yes"], "选项 --publish 不接受值"),
        (["worker", "--concurrency", "0"], "不能小于 1"),
        (["token", "create", "--as", "a", "--name", "n", "--days", "x"], "应为整数"),
        (["publications", "--submission", "1.5"], "应为整数"),
    ],
)
def test_usage_errors_are_chinese(args: list[str], expected: str) -> None:
    code, shown = show(*args)
    assert code == 2, shown
    assert expected in shown and "错误" in shown, shown
    assert english_words(shown, CODES | set(args)) == [], shown  # what was typed is echoed


# --- other value types, through a small app of the same make ------------------------------


class Size(StrEnum):
    SMALL = "small"
    LARGE = "large"


types_app = typer.Typer(cls=chinese.ChineseGroup, add_completion=False)


@types_app.command("run")
def _run(
    size: Annotated[Size, typer.Option(help="大小")] = Size.SMALL,
    day: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="日期")] = None,
    ratio: Annotated[float, typer.Option(max=1.0, help="比例")] = 0.5,
    out: Annotated[Path | None, typer.Option(dir_okay=False, help="文件")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="标签")] = None,
) -> None:
    pass


@types_app.command("other")
def _other(
    when: Annotated[date | None, typer.Argument(metavar="日期", help="日期")] = None,
) -> None:
    pass


TYPES_CODES = CODES | {"run", "other"} | {s.value for s in Size}


def test_choices_dates_numbers_files_and_lists_read_in_chinese() -> None:
    code, shown = show("run", "--help", target=types_app)
    assert code == 0, shown
    assert "<small|large>" in shown and "[默认：small]" in shown
    assert "<YYYY-MM-DD>" in shown and "<数字> [至多 1.0]" in shown
    assert "<文件>" in shown and "<文本>..." in shown
    assert english_words(shown, TYPES_CODES) == [], shown


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--size", "huge"], "选项 --size 的值无效：'huge' 不在可选值中"),
        (["run", "--day", "tomorrow"], "选项 --day 的值无效：'tomorrow' 不符合格式 'YYYY-MM-DD'"),
        (["run", "--ratio", "2"], "不能大于 1.0"),
    ],
)
def test_bad_choices_dates_and_numbers_are_chinese(args: list[str], expected: str) -> None:
    code, shown = show(*args, target=types_app)
    assert code == 2, shown
    assert expected in shown, shown
    assert english_words(shown, TYPES_CODES | set(args)) == [], shown
