"""The knobs a test puts on a live page: each parses its JSON value onto a draft of the page.

`apply_knobs` applies them all or none (raising `KnobInvalid`), in the order of `live`'s list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from channels.simulators.live.page import LivePage, PageFaults, images_of

PARAGRAPH = re.compile(r"<p(?:\s[^>]*)?>.*?</p\s*>", re.IGNORECASE | re.DOTALL)
MAX_HANG_S = 300
MAX_HUGE_MB = 1024


class KnobInvalid(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Draft:
    body_html: str
    faults: PageFaults


def _restore(draft: _Draft, page: LivePage, value: Any) -> None:
    if value is not True:
        raise KnobInvalid("restore 只能为 true")
    draft.body_html, draft.faults = page.article.body_html, PageFaults()


def _replace(draft: _Draft, value: Any) -> None:
    if not (isinstance(value, list | tuple) and len(value) == 2):
        raise KnobInvalid("replace 须为 [原文, 新文] 两个字符串")
    old, new = value
    if not isinstance(old, str) or not isinstance(new, str) or not old:
        raise KnobInvalid("replace 须为 [原文, 新文] 两个字符串，原文不能为空")
    if old not in draft.body_html:
        raise KnobInvalid(f"replace：正文中没有「{old}」")
    draft.body_html = draft.body_html.replace(old, new, 1)
    draft.faults.edits.append({"replace": [old, new]})


def _append(draft: _Draft, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise KnobInvalid("append 须为非空的 HTML 片段，例如 <p>新增一段</p>")
    draft.body_html += value
    draft.faults.edits.append({"append": value})


def _drop_paragraph(draft: _Draft, value: Any) -> None:
    paragraphs = list(PARAGRAPH.finditer(draft.body_html))
    n = _ordinal("drop_paragraph", value)
    if n > len(paragraphs):
        raise KnobInvalid(f"drop_paragraph：第 {n} 段不存在（正文共 {len(paragraphs)} 段）")
    found = paragraphs[n - 1]
    draft.body_html = draft.body_html[: found.start()] + draft.body_html[found.end() :]
    draft.faults.edits.append({"drop_paragraph": n})


def _swap_image(draft: _Draft, value: Any) -> None:
    draft.faults.swap_image.add(_ordinal("swap_image", value))


def _not_image(draft: _Draft, value: Any) -> None:
    draft.faults.not_image.add(_ordinal("not_image", value))


def _remove(draft: _Draft, value: Any) -> None:
    if value not in (404, 410) or isinstance(value, bool):
        raise KnobInvalid("remove 只能为 404 或 410")
    draft.faults.remove = int(value)


def _hang_s(draft: _Draft, value: Any) -> None:
    draft.faults.hang_s = _number("hang_s", value, MAX_HANG_S, "秒")


def _huge_mb(draft: _Draft, value: Any) -> None:
    draft.faults.huge_mb = _number("huge_mb", value, MAX_HUGE_MB, "MB")


def _undeclared(draft: _Draft, value: Any) -> None:
    draft.faults.undeclared = _flag("undeclared", value)


def _redirect_loop(draft: _Draft, value: Any) -> None:
    draft.faults.redirect_loop = _flag("redirect_loop", value)


def _ordinal(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise KnobInvalid(f"{name} 须为从 1 开始的序号")
    return value


def _number(name: str, value: Any, limit: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= limit:
        raise KnobInvalid(f"{name} 须为 0 到 {limit} 之间的数（{unit}），0 表示取消")
    return float(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise KnobInvalid(f"{name} 须为 true 或 false")
    return value


KNOBS: Mapping[str, Callable[[_Draft, Any], None]] = {
    "replace": _replace,
    "append": _append,
    "drop_paragraph": _drop_paragraph,
    "swap_image": _swap_image,
    "not_image": _not_image,
    "remove": _remove,
    "hang_s": _hang_s,
    "huge_mb": _huge_mb,
    "undeclared": _undeclared,
    "redirect_loop": _redirect_loop,
}


def check_knob_names(knobs: Mapping[str, Any]) -> None:
    """Refuse an empty change or a knob nobody knows, before the page is even looked up."""
    names = ("restore", *KNOBS)
    unknown = sorted(set(knobs) - set(names))
    if unknown:
        raise KnobInvalid(f"不认识的设置：{'、'.join(unknown)}；可用：{'、'.join(names)}")
    if not knobs:
        raise KnobInvalid(f"没有要改的设置；可用：{'、'.join(names)}")


def apply_knobs(page: LivePage, knobs: Mapping[str, Any]) -> tuple[str, PageFaults, list[str]]:
    """The page's body and faults with `knobs` applied, and the images of that body; raises
    `KnobInvalid` and leaves the page as it was."""
    draft = _Draft(page.body_html, page.faults.copy())
    if "restore" in knobs:
        _restore(draft, page, knobs["restore"])
    for name, apply in KNOBS.items():
        if name in knobs:
            apply(draft, knobs[name])
    images = images_of(page.url, draft.body_html)
    for knob in ("swap_image", "not_image"):
        for n in getattr(draft.faults, knob):
            if n > len(images):
                raise KnobInvalid(f"{knob}：第 {n} 张图片不存在（该页共 {len(images)} 张）")
    return draft.body_html, draft.faults, images
