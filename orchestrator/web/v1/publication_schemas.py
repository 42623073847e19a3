"""The models of a publication (one channel's row of a signed submission) in /api/v1: the
board's items and pages, the detail with its attempts, and what the state changes take and
answer."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from orchestrator.web.schemas import NOT_BLANK, WEB_URL, IsoDate, IsoDateTime, StrictBody, Text


class PublicationItem(BaseModel):
    id: int
    submission: int
    version: int
    title: str
    department: str
    channel: str
    channel_label: str
    state: str
    state_label: str
    attention: bool = Field(description="逾期、失败或结果未确认，需要关注")
    scheduled_at: datetime
    scheduled_at_local: str
    late: bool
    attempts: int
    external_id: str | None
    url: str | None
    last_error: str | None
    note: str | None
    published_at: datetime | None
    published_at_local: str | None


class AttemptOut(BaseModel):
    operation: str
    started_at: datetime
    started_at_local: str
    duration_ms: int
    outcome: str
    error_class: str | None
    message: str | None


class PublicationOut(PublicationItem):
    source_platform: str | None
    source_url: str | None
    revision: int
    attempt_log: list[AttemptOut]


class PublicationPage(BaseModel):
    page: int
    per_page: int
    total: int
    items: list[PublicationItem]


class RescheduleIn(StrictBody):
    at: IsoDateTime | None = Field(default=None, description="新的发布时间（带时区）")
    now: bool = Field(default=False, description="立即发布")


class AmendDateIn(StrictBody):
    new_date: IsoDate = Field(description="新的发布日期（上海日历日）")
    at: str | None = Field(
        default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="当天的发布时间 HH:MM"
    )
    comment: Text = Field(default="", max_length=2000, description="改期原因，签入签名")
    password: Text = Field(
        min_length=1, max_length=1024, description="宣传分管领导的密码，用于签名"
    )


class AmendedOut(BaseModel):
    publication: int
    amendment: int
    old_date: date
    new_date: date
    scheduled_at: datetime
    scheduled_at_local: str


class ReasonIn(StrictBody):
    reason: str = Field(
        min_length=1, max_length=2000, pattern=NOT_BLANK, description="原因，不能为空白"
    )


class CancelIn(StrictBody):
    reason: Text = Field(default="", max_length=2000)


class RetryIn(StrictBody):
    checked: bool = Field(default=False, description="已在平台核对确认未发布")


class ConfirmIn(StrictBody):
    url: str = Field(min_length=1, max_length=1000, pattern=WEB_URL)


class PublicationState(BaseModel):
    publication: int
    state: str
    state_label: str
    scheduled_at: datetime
    scheduled_at_local: str


class RetractAllOut(BaseModel):
    submission: int
    results: dict[str, str]
    all_retracted: bool
