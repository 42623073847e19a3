"""Shell completion's options (`--install-completion`, `--show-completion`) with Chinese help
and replies."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from typer import _completion_shared
from typer._click.core import Context, Parameter
from typer._click.utils import echo
from typer.exceptions import Exit

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
