"""The models of a submission in /api/v1: the draft it is sent as (body, channels, images,
Base64), and what comes back — the submission with its versions and reviews, a page of them,
two versions compared."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from orchestrator.web.schemas import ChannelNameOrLabel, IsoDate, IsoDateTime, StrictBody, Text


class ImageIn(StrictBody):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00]+$")
    data_base64: Text = Field(min_length=1, description="图片内容（Base64）")


class ChannelIn(StrictBody):
    channel: ChannelNameOrLabel = Field(min_length=1, max_length=64, description="渠道名或显示名")
    publish_date: IsoDate
    remark: Text = Field(default="", max_length=500)


class RepostIn(StrictBody):
    platform: Text = Field(min_length=1, max_length=100)
    url: Text = Field(min_length=1, max_length=1000)
    published_at: IsoDateTime


class DraftIn(StrictBody):
    title: Text = Field(min_length=1, max_length=500)
    body_html: Text = Field(min_length=1, description='正文 HTML；<img src="文件名"> 指向 images')
    channels: list[ChannelIn] = Field(min_length=1, max_length=20)
    images: list[ImageIn] = Field(default_factory=list, max_length=50)
    cover: ImageIn | None = None
    digest: Text = Field(default="", max_length=500)
    byline: Text = Field(default="", max_length=100)
    major_event: bool = False
    special_content: bool = False
    repost: RepostIn | None = None
    autofix: bool = Field(
        default=False,
        description="自动修正：平台会拒收的图片（PNG 封面、超出大小）转为 JPEG 或缩小后再提交",
    )


class SubmissionIn(DraftIn):
    urgent: bool = Field(
        default=False, description="紧急（如工作动态）：每个审核环节的时限按小时计（默认 2 小时）"
    )
    department: Text | None = Field(
        default=None, min_length=1, max_length=64, description="申请科室/窗口代码，缺省为本人科室"
    )


class ManuscriptOut(BaseModel):
    """A Word manuscript converted, nothing stored: title, body and images as POST /submissions
    takes them."""

    title: str
    body_html: str = Field(description='正文 HTML；<img src="文件名"> 指向 images')
    images: list[ImageIn]
    warnings: list[str] = Field(description="转换时略去或未能保留的内容，供人核对")


class ChannelRowOut(BaseModel):
    channel: str
    channel_label: str
    publish_date: date
    remark: str


class ImageOut(BaseModel):
    filename: str
    sha256: str


class RepostSourceOut(BaseModel):
    platform: str
    url: str
    published_at: datetime


class VersionSummary(BaseModel):
    number: int
    fingerprint: str
    title: str
    created_by: str
    created_at: datetime
    created_at_local: str


class VersionOut(VersionSummary):
    body_html: str
    digest: str
    byline: str
    major_event: bool
    special_content: bool
    cover_sha256: str | None
    channels: list[ChannelRowOut]
    images: list[ImageOut]
    repost_source: RepostSourceOut | None


class ReviewOut(BaseModel):
    id: int
    stage: str
    stage_label: str
    decision: str
    decision_label: str
    actor: str
    actor_name: str
    acted_at: datetime
    acted_at_local: str
    comment: str
    version: int
    for_current_version: bool


SubmissionState = Literal["in_review", "returned", "rejected", "signed_off"]


class SubmissionItem(BaseModel):
    id: int
    uid: str
    title: str
    department: str
    department_name: str
    author: str
    version: int
    state: SubmissionState
    state_label: str
    created_at: datetime
    created_at_local: str


class SubmissionOut(SubmissionItem):
    waiting: str | None
    waiting_label: str | None
    repost_of: int | None
    current: VersionOut
    versions: list[VersionSummary]
    reviews: list[ReviewOut]


class SubmissionPage(BaseModel):
    page: int
    per_page: int
    total: int
    items: list[SubmissionItem]


class DiffOut(BaseModel):
    submission: int
    from_version: int
    to_version: int
    title_changed: bool
    title_diff: list[str]
    body_diff: list[str]
    other_changes: list[str]
