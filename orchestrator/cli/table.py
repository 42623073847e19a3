"""Text tables for a terminal, their columns lined up by display width.

A Chinese character takes two columns of a terminal, a Latin letter one, so `str.ljust` (which
counts characters) misaligns any column holding both. `width` counts columns the way terminals
do (Unicode's East Asian Width: Wide and Fullwidth take two; combining marks none), and `table`
pads every cell to its column's width in those units:

    table([("wechat", "微信公众号"), ("政府网站", "gov")], header=("渠道", "名称"))
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence

GAP = "  "


def width(text: str) -> int:
    """Columns `text` takes on a terminal."""
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def pad(text: str, columns: int, *, right: bool = False) -> str:
    """`text` filled with spaces to `columns` display columns (on the left when `right`)."""
    fill = " " * max(columns - width(text), 0)
    return fill + text if right else text + fill


def table(
    rows: Sequence[Sequence[object]],
    header: Sequence[str] | None = None,
    *,
    right: Collection[int] = (),
    indent: str = "",
    rule: bool = False,
) -> str:
    """`rows` (and `header`) as lines whose columns start at the same display column; the
    columns numbered in `right` are right-aligned (numbers), `rule` draws a line of dashes
    under the header. None shows as an empty cell; the last column is not padded."""
    cells = [[_text(v) for v in row] for row in ([header] if header else []) + list(rows)]
    if not cells:
        return ""
    count = max(len(row) for row in cells)
    cells = [row + [""] * (count - len(row)) for row in cells]
    widths = [max(width(row[i]) for row in cells) for i in range(count)]

    def line(row: list[str]) -> str:
        padded = (
            pad(v, w, right=i in right) for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        return (indent + GAP.join(padded)).rstrip()

    lines = [line(row) for row in cells]
    if header and rule:
        lines.insert(1, indent + GAP.join("-" * w for w in widths))
    return "\n".join(lines)


def _text(value: object) -> str:
    return "" if value is None else str(value)
