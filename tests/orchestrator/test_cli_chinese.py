"""What `sanshen` prints of its own (help, usage, usage errors, file errors) is Chinese: no
English phrase of Click's, Typer's or the operating system's is left for a person to read."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer._click.core import Context
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    FileError,
    MissingParameter,
    NoSuchOption,
    UsageError,
)
from typer.testing import CliRunner

from orchestrator.cli import app, chinese, files
from orchestrator.errors import InvalidInput

SANSHEN = str(Path(sys.executable).with_name("sanshen"))

ENGLISH = (
    "Usage:",
    "Show this message",
    "Options",
    "Arguments",
    "Commands",
    "Error",
    "Try '",
    "for help",
    "Invalid value",
    "Missing argument",
    "Missing option",
    "Missing parameter",
    "Missing command",
    "No such option",
    "No such command",
    "Did you mean",
    "Possible options",
    "Got unexpected extra",
    "Input should be",
    "unable to parse",
    "requires an argument",
    "No such file or directory",
    "Permission denied",
    "Is a directory",
    "[default:",
    "[required]",
    "[env var:",
    "Install completion",
    "Show completion",
    "Aborted",
    "[OPTIONS]",
    "COMMAND [ARGS]",
    "Traceback",
)


def sanshen(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"SANSHEN_DATA_DIR": str(data), "SANSHEN_KDF_PROFILE": "min"}
    return subprocess.run(
        [SANSHEN, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def english_in(text: str) -> list[str]:
    return [phrase for phrase in ENGLISH if phrase in text]


def test_help_and_usage_errors_are_chinese(tmp_path: Path) -> None:
    data = tmp_path / "d"
    cases = {
        "top help": (["--help"], 0, ["用法：sanshen [选项] 命令 [参数]...", "选项", "命令"]),
        "group help": (
            ["submission", "--help"],
            0,
            ["用法：sanshen submission", "显示本帮助并退出"],
        ),
        "command help": (
            ["gate", "check", "--help"],
            0,
            ["用法：sanshen gate check [选项] {稿件编号}", "参数", "[必填]"],
        ),
        "bad int": (
            ["gate", "check", "abc"],
            2,
            [
                "参数“稿件编号”的值无效：应为整数（收到“abc”）",
                "运行 sanshen gate check --help 查看帮助。",
            ],
        ),
        "missing argument": (["gate", "check"], 2, ["缺少参数“稿件编号”", "错误"]),
        "missing option": (["review", "1"], 2, ["缺少选项 --stage"]),
        "unknown option": (["gate", "check", "--bogus", "1"], 2, ["没有这个选项：--bogus"]),
        "extra argument": (["gate", "check", "1", "2"], 2, ["多余的参数：2"]),
        "unknown command": (["gaet"], 2, ["没有这个命令：gaet（您是不是要用 “gate”？）"]),
        "option without value": (["up", "--port"], 2, ["选项 --port 后面需要一个值"]),
        "below minimum": (["worker", "--concurrency", "0"], 2, ["不能小于 1"]),
        "missing file": (
            ["init", str(tmp_path / "no-such.yaml")],
            2,
            [f"找不到组织文件：{tmp_path / 'no-such.yaml'}"],
        ),
    }
    for name, (args, code, expected) in cases.items():
        result = sanshen(data, *args)
        shown = result.stdout + result.stderr
        assert result.returncode == code, (name, shown)
        for text in expected:
            assert text in shown, (name, text, shown)
        assert english_in(shown) == [], (name, shown)


def test_a_missing_file_has_a_stable_code(tmp_path: Path) -> None:
    result = sanshen(tmp_path / "d", "init", str(tmp_path / "nope.yaml"), "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "error": "file_not_found",
        "message": f"找不到组织文件：{tmp_path / 'nope.yaml'}",
    }


def test_every_commands_help_is_chinese() -> None:
    """All of them, the groups registered later included: the tree is walked, not listed."""
    root = typer.main.get_command(app)
    chinese.localize(root)
    runner = CliRunner()
    seen = 0

    def walk(command: object, path: list[str]) -> None:
        nonlocal seen
        result = runner.invoke(app, [*path, "--help"], prog_name="sanshen", env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        assert english_in(result.output) == [], (path, result.output)
        assert "用法：sanshen" in result.output, (path, result.output)
        seen += 1
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    assert seen > 40


def test_every_argument_has_a_chinese_name() -> None:
    """An argument's name shows in the usage line and in errors: it is a metavar in Chinese."""
    root = typer.main.get_command(app)
    bare = []
    for command in chinese._tree(root):
        for param in command.params:
            if param.param_type_name == "argument" and not re.search(
                r"[\u4e00-\u9fff]", param.metavar or ""
            ):
                bare.append(f"{command.name}: {param.name}")
    assert bare == []


# --- the translation table, class by class --------------------------------------------------


def _param(command_args: list[str], name: str) -> object:
    command = typer.main.get_command(app)
    for word in command_args:
        command = command.commands[word]  # type: ignore[attr-defined]
    return next(p for p in command.params if p.name == name)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            NoSuchOption("--jsn", possibilities=["--json"]),
            "没有这个选项：--jsn（您是不是要用 --json？）",
        ),
        (
            BadOptionUsage("--out", "Option '--out' requires 2 arguments."),
            "选项 --out 后面需要 2 个值",
        ),
        (BadOptionUsage("--x", "Option '--x' does not take a value."), "选项 --x 不接受值"),
        (UsageError("Missing command."), "缺少命令"),
        (UsageError("Got unexpected extra arguments (a b)"), "多余的参数：a b"),
        (UsageError("Argument 'x' takes 2 values."), "参数 x 需要 2 个值"),
        (BadParameter("Path 'a.txt' does not exist."), "找不到 a.txt"),
        (BadParameter("File 'a.txt' is a directory."), "a.txt 是目录，应为文件"),
        (BadParameter("Value must be an iterable."), "应为一个或多个值"),
        (FileError("a.txt", hint="Permission denied"), "无法打开文件：a.txt（权限不足）"),
        (UsageError("something new"), "命令行有误：something new"),
    ],
)
def test_each_click_error_reads_in_chinese(error: UsageError, expected: str) -> None:
    assert expected in chinese.message(error)


def test_a_missing_option_and_a_bad_parameter_name_the_option() -> None:
    stage = _param(["review"], "stage")
    assert chinese.message(MissingParameter(param=stage)) == "缺少选项 --stage"  # type: ignore[arg-type]
    error = BadParameter("whatever", param=stage)  # type: ignore[arg-type]
    assert chinese.message(error).startswith("选项 --stage 的值无效：")


def test_a_file_typer_could_not_open_says_why_in_chinese() -> None:
    error = BadParameter("'x.yaml': Permission denied")
    error.__cause__ = PermissionError(errno.EACCES, "Permission denied", "x.yaml")
    assert chinese.message(error) == "参数的值无效：权限不足"


def test_os_errors_never_show_the_english_strerror(tmp_path: Path) -> None:
    def refusal(code: int) -> InvalidInput:
        return files.cannot_read(tmp_path / "x", OSError(code, os.strerror(code)), "文件")

    assert refusal(errno.ENOENT).message == f"找不到文件：{tmp_path / 'x'}"
    assert refusal(errno.ENOENT).code == "file_not_found"
    assert refusal(errno.EACCES).message == f"无法读取文件：{tmp_path / 'x'}（权限不足）"
    assert refusal(errno.EACCES).code == "file_not_readable"
    assert refusal(errno.EISDIR).code == "not_a_file"
    assert refusal(errno.EIO).message.endswith("（系统错误 EIO）")
    written = files.cannot_write(tmp_path / "x", OSError(errno.ENOSPC, "No space left on device"))
    assert written.code == "cannot_write" and written.message.endswith("（磁盘空间不足）")
    with pytest.raises(InvalidInput) as missing:
        files.read_bytes(tmp_path / "none", "图片")
    assert missing.value.message == f"找不到图片：{tmp_path / 'none'}"
    (tmp_path / "gbk.yaml").write_bytes("名称".encode("gbk"))
    with pytest.raises(InvalidInput) as encoded:
        files.read_text(tmp_path / "gbk.yaml", "组织文件")
    assert encoded.value.code == "not_utf8"


def test_the_usage_line_of_a_context_is_chinese() -> None:
    root = typer.main.get_command(app)
    chinese.localize(root)
    context = chinese.ChineseContext(root, info_name="sanshen")
    assert root.get_usage(context) == "用法：sanshen [选项] 命令 [参数]..."
    assert isinstance(context, Context)
