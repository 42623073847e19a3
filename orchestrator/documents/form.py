"""The 信息发布审批表 (approval form) as data, laid out as the seed's paper form: 申请科室/窗口,
申请日期, rows of 序号/信息名称/发布形式/发布日期/备注, the signature lines, then the content each
row covers (附后). What both renderings (form_pdf, form_docx) show is in form_text.

Who signs which line (seed, 二、三): 经办人 is the contributor, whose 初审 stands there;
科室、窗口负责人 signs the 复审; 业务分管领导 the 终审; 主要领导 the 审定 where the item is a
major event or special content; 宣传分管领导 the 签发.

The form is filled from a review record the gate passes by services.approval_form.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import gate.model as g

SHANGHAI = ZoneInfo("Asia/Shanghai")
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Line:
    """One signature line of the paper form and the review stage signed on it."""

    label: str
    stage: g.ReviewStage


LINES: tuple[Line, ...] = (
    Line("科室、窗口经办人（签字）", g.ReviewStage.FIRST),
    Line("科室、窗口负责人审核（签字）", g.ReviewStage.SECOND),
    Line("业务分管领导审核（签字）", g.ReviewStage.FINAL),
    Line("主要领导审定（签字）", g.ReviewStage.PRINCIPAL),
    Line("综合科确定稿件用途（签字）", g.ReviewStage.USAGE),
    Line("宣传分管领导审核（签字）", g.ReviewStage.SIGN_OFF),
)


@dataclass(frozen=True)
class Signed:
    stage: g.ReviewStage
    name: str
    username: str
    acted_at: datetime
    signature_fingerprint: str  # grouped, e.g. "3f2a 9c01 77be 0d42"
    comment: str

    @property
    def local_time(self) -> str:
        return local(self.acted_at)


@dataclass(frozen=True)
class ChannelLine:
    """A row of the form; `publish_date` is the date in force, `amended` who moved it from the
    signed date by a signed 改期 (empty when nobody did)."""

    channel: str
    label: str
    publish_date: date
    remark: str
    amended: str = ""

    @property
    def date_text(self) -> str:
        day = self.publish_date.isoformat()
        return f"{day}（{self.amended}）" if self.amended else day


@dataclass(frozen=True)
class FormItem:
    number: int
    submission_id: int
    title: str
    author: str
    author_username: str
    version_number: int
    version_fingerprint: str
    channels: tuple[ChannelLine, ...]
    signatures: dict[g.ReviewStage, Signed]
    required: tuple[g.ReviewStage, ...]
    body_text: str
    images: tuple[tuple[str, str], ...]  # (file name, SHA-256)
    cover: str | None
    digest: str
    byline: str
    major_event: bool
    special_content: bool
    repost_source: str
    # A repost of our own item signed off alone: the original submission whose reviews it
    # carries (its signatures fill the lines before 签发).
    carried_from: int | None = None


@dataclass(frozen=True)
class Form:
    organisation: str
    department: str
    applied_on: date
    items: tuple[FormItem, ...]
    generated_at: datetime

    @property
    def lines(self) -> tuple[Line, ...]:
        """The paper form's four lines, 综合科's 稿件用途 when the items needed it (all since
        0008), and 主要领导 when any item needed the 审定."""
        needed = {s for item in self.items for s in item.required}
        optional = (g.ReviewStage.PRINCIPAL, g.ReviewStage.USAGE)
        return tuple(line for line in LINES if line.stage not in optional or line.stage in needed)


def local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def short_fingerprint(signature: bytes) -> str:
    """The first 16 hex digits of the signature's SHA-256, in groups of four."""
    head = hashlib.sha256(signature).hexdigest()[:16]
    return " ".join(head[i : i + 4] for i in range(0, 16, 4))


def as_dict(form: Form) -> dict[str, Any]:
    return {
        "organisation": form.organisation,
        "department": form.department,
        "applied_on": form.applied_on.isoformat(),
        "items": [
            {
                "number": i.number,
                "submission": i.submission_id,
                "title": i.title,
                "version": i.version_number,
                "fingerprint": i.version_fingerprint,
                "channels": [
                    {
                        "channel": c.channel,
                        "label": c.label,
                        "publish_date": c.publish_date.isoformat(),
                        "amended": c.amended,
                        "remark": c.remark,
                    }
                    for c in i.channels
                ],
                "signatures": {
                    s.value: {
                        "name": sig.name,
                        "username": sig.username,
                        "at": sig.local_time,
                        "signature_fingerprint": sig.signature_fingerprint,
                    }
                    for s, sig in i.signatures.items()
                },
            }
            for i in form.items
        ],
    }
