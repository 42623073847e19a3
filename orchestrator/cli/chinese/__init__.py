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

from orchestrator.cli.chinese.completion import COMPLETION, SHELLS
from orchestrator.cli.chinese.errors import (
    PARAMETER,
    PYDANTIC,
    USAGE,
    ChineseClickError,
    ChineseUsageError,
    chinese_errors,
    message,
)
from orchestrator.cli.chinese.group import (
    ChineseContext,
    ChineseFormatter,
    ChineseGroup,
    _tree,
    install,
    localize,
)
from orchestrator.cli.chinese.oserrors import OS_REASONS, os_reason
from orchestrator.cli.chinese.params import (
    ChineseArgument,
    ChineseOption,
    date_format,
    range_label,
    type_label,
)

__all__ = [
    "COMPLETION",
    "OS_REASONS",
    "PARAMETER",
    "PYDANTIC",
    "SHELLS",
    "USAGE",
    "ChineseArgument",
    "ChineseClickError",
    "ChineseContext",
    "ChineseFormatter",
    "ChineseGroup",
    "ChineseOption",
    "ChineseUsageError",
    "_tree",
    "chinese_errors",
    "date_format",
    "install",
    "localize",
    "message",
    "os_reason",
    "range_label",
    "type_label",
]
