"""Parameters described in Chinese in the help: value types (`<整数>`), ranges (`[至少 1]`),
date formats (YYYY-MM-DD) and flag defaults (`[默认：--no-publish]`)."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any, get_args

from typer._click.core import Context
from typer._coercion import TypeDescriptor
from typer.core import TyperArgument, TyperOption

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
