"""The pure checks every upward report must pass before sign-off (`upward_problems`)."""

from __future__ import annotations

from dataclasses import dataclass

from channels.errors import Problem
from channels.item import Item
from channels.rendering import body_image_problems, body_problems, image_problems, title_problems
from channels.upward.package import SIGN_OFF, attachment_path


@dataclass(frozen=True, slots=True)
class UpwardLimits:
    """One platform's acceptance rules, checked before sign-off (see its docs page)."""

    title_min: int
    title_max: int
    image_kinds: frozenset[str]  # "jpeg", "png", "gif" (see channels.rendering.sniff_image)
    max_image_bytes: int
    max_package_bytes: int
    max_attachments: int = 10


def _title_problems(item: Item, limits: UpwardLimits, platform: str) -> list[Problem]:
    title = item.title.strip()
    if title and len(title) < limits.title_min:
        message = f"{platform}要求标题不少于 {limits.title_min} 个字（现 {len(title)} 个）"
        return [Problem("title_too_short", message, "title")]
    return title_problems(title, max_chars=limits.title_max)


def _image_problems(item: Item, limits: UpwardLimits) -> list[Problem]:
    kinds = limits.image_kinds
    problems = body_image_problems(item, max_bytes=limits.max_image_bytes, kinds=kinds)
    if item.cover:
        problems += image_problems(
            item.cover, field="cover", max_bytes=limits.max_image_bytes, kinds=kinds
        )
    return problems


def _review_problems(item: Item) -> list[Problem]:
    if not item.review:
        return [Problem("review_missing", "对上报送必须附带审批记录", "review")]
    problems = []
    if SIGN_OFF not in {line.stage for line in item.review}:
        problems.append(Problem("sign_off_missing", "审批记录中没有“签发”，不得对上报送", "review"))
    if not item.fingerprint:
        problems.append(
            Problem("fingerprint_missing", "缺少稿件版本指纹，审批记录无从对应", "review")
        )
    return problems


def _package_problems(item: Item, limits: UpwardLimits) -> list[Problem]:
    problems = []
    names = [attachment_path(a.filename) for a in item.attachments]
    if len(names) > limits.max_attachments:
        message = f"附件不超过 {limits.max_attachments} 个（现 {len(names)} 个）"
        problems.append(Problem("too_many_attachments", message, "attachments"))
    if len(set(names)) != len(names):
        problems.append(Problem("attachment_name_duplicate", "附件文件名重复", "attachments"))
    blobs = [img.data for img in item.images] + [a.data for a in item.attachments]
    size = len(item.body_html.encode("utf-8")) + sum(len(b) for b in blobs)
    if item.cover:
        size += len(item.cover.data)
    if size > limits.max_package_bytes:
        limit_mb = limits.max_package_bytes // 1024 // 1024
        message = f"投稿包约 {size / 1024 / 1024:.1f} MB，超过 {limit_mb} MB 上限"
        problems.append(Problem("package_too_large", message, "attachments"))
    return problems


def upward_problems(item: Item, limits: UpwardLimits, platform: str) -> list[Problem]:
    """Every reason `platform` would refuse `item`; pure."""
    return [
        *_title_problems(item, limits, platform),
        *body_problems(item.body_html),
        *_image_problems(item, limits),
        *_review_problems(item),
        *_package_problems(item, limits),
    ]
