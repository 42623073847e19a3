"""What a person hands in (a draft of one version, its image files) and the checks of it that
need no channel: text that is really text, the 审批表 rows, the images, the repost source."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from channels.registry import RegistryError, load_channels
from gate.model import ChannelRequest, RepostSource
from orchestrator.errors import InvalidInput, SanshenError
from orchestrator.images import image_problem

REPLACEMENT_CHARACTER = "\ufffd"  # what a lossy decode leaves where bytes were not text


@dataclass(frozen=True)
class ImageFile:
    filename: str
    data: bytes


@dataclass
class Draft:
    """What a person hands in: the content of one version."""

    title: str
    body_html: str
    channels: list[ChannelRequest]
    images: list[ImageFile] = field(default_factory=list)
    cover: ImageFile | None = None
    digest: str = ""
    byline: str = ""
    major_event: bool = False
    special_content: bool = False
    repost: RepostSource | None = None
    # Apply the safe, visible fixes the channel checks offer (PNG cover to JPEG, oversized
    # images downscaled) instead of refusing the draft for them.
    autofix: bool = False


def body_text(data: bytes, source: str) -> str:
    """A body file's text: UTF-8 (with or without a BOM), else GB18030 (which covers GBK), both
    strict. Anything else is refused rather than stored with replacement characters."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        f"正文文件 {source} 既不是 UTF-8 也不是 GB18030/GBK 编码的文本，请将它另存为 UTF-8 后重试",
        code="body_not_text",
    )


def channel_catalogue() -> dict[str, str]:
    """Registered channel names with their display names (发布形式)."""
    try:
        return {name: cls.display_name for name, cls in load_channels().items()}
    except RegistryError as exc:
        raise SanshenError(f"发布渠道插件配置有误：{exc}", code="channel_registry") from None


def resolve_channel(text: str, catalogue: dict[str, str]) -> str:
    """Accept a channel by name (wechat) or by what people call it (微信公众号)."""
    if text in catalogue:
        return text
    for name, display in catalogue.items():
        if display == text:
            return name
    known = "、".join(f"{d}（{n}）" for n, d in catalogue.items())
    raise InvalidInput(f"未知发布渠道“{text}”。可用渠道：{known}", code="unknown_channel")


def check_draft(draft: Draft, catalogue: dict[str, str], today: date) -> None:
    problems: list[str] = []
    if not draft.title.strip():
        problems.append("标题为空")
    if not draft.body_html.strip():
        problems.append("正文为空")
    for label, text in (
        ("标题", draft.title),
        ("正文", draft.body_html),
        ("摘要", draft.digest),
        ("署名", draft.byline),
    ):
        if "\x00" in text:
            problems.append(f"{label}含有空字符（U+0000），不是正常文字，请检查来源文件")
        if REPLACEMENT_CHARACTER in text:
            problems.append(
                f"{label}含有乱码替换字符“{REPLACEMENT_CHARACTER}”（文字在编码转换中已损坏），"
                "请从原文件重新复制或将原文件另存为 UTF-8 后重新提交"
            )
    if not draft.channels:
        problems.append("未申请任何发布渠道（审批表至少一行）")
    seen: set[str] = set()
    for row in draft.channels:
        if row.channel not in catalogue:
            problems.append(f"未知发布渠道“{row.channel}”")
        if row.channel in seen:
            problems.append(f"渠道“{catalogue.get(row.channel, row.channel)}”重复申请")
        seen.add(row.channel)
        if "\x00" in row.remark:
            problems.append(f"{catalogue.get(row.channel, row.channel)} 的备注含有空字符（U+0000）")
        if row.publish_date < today:
            problems.append(
                f"{catalogue.get(row.channel, row.channel)} 的发布日期 "
                f"{row.publish_date.isoformat()} 已过"
            )
    if draft.repost is not None:
        if not re.match(r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$", draft.repost.url):
            problems.append(f"转载来源网址无效：{draft.repost.url}")
        if not draft.repost.platform.strip():
            problems.append("转载来源平台为空")
        elif "\x00" in draft.repost.platform:
            problems.append("转载来源平台含有空字符（U+0000）")
    if problems:
        raise InvalidInput(
            "稿件有误：" + "；".join(problems), code="invalid_draft", details=problems
        )


def check_images(draft: Draft) -> None:
    named = [*draft.images, *([draft.cover] if draft.cover else [])]
    problems = [p for f in named if (p := image_problem(f.filename, f.data)) is not None]
    if problems:
        raise InvalidInput("；".join(problems), code="image_invalid", details=problems)
