"""Request and response models of the REST API (/api/v1).

Request bodies are strict and closed (`StrictBody`): a number is never a string, a flag never 0,
an unknown field is refused. Dates and times are ISO 8601 strings, and nothing else.
Times in responses are UTC ISO 8601, with a `*_local` Asia/Shanghai string where people read them.

Where a handler checks a string against a list (channels, states, roles), the schema lists it
too (`one_of`), read from the same source; the handler keeps its check and its message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

from channels.registry import load_channels
from orchestrator.services.org import ROLE_BY_NAME
from orchestrator.services.submissions import channel_catalogue


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("应为 ISO 8601 格式的字符串")
    return value


def whole(value: Any) -> Any:
    """JSON has one kind of number: 385.0 is the integer 385 (JSON Schema agrees). For an
    integer in a strict model, which refuses 385.0 otherwise (and still refuses 385.5, "385").
    The bounds go before it in `Annotated`, or the schema loses them."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Strict models refuse a JSON string for a date; these accept exactly the ISO string.
IsoDate = Annotated[date, Strict(False), BeforeValidator(_iso_text)]
IsoDateTime = Annotated[AwareDatetime, Strict(False), BeforeValidator(_iso_text)]

DAY = r"^\d{4}-\d{2}-\d{2}$"
# A calendar day in a query: the pattern is checked before the handler, which refuses a day
# that does not exist (2026-13-01) with its own message; `format` says so to clients.
Day = Annotated[str, Field(pattern=DAY, json_schema_extra={"format": "date"})]


# What Python's str.isspace() calls space, spelled out: `\s` means something else to Python,
# to pydantic (Rust) and to JSON Schema (ECMA), and the services test a blank with strip().
SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# PostgreSQL's text cannot hold U+0000 (SQLite can): no text we take may carry it, on either.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
# Some character that is not space, and no NUL anywhere.
NOT_BLANK = f"^[^\\x00]*[^{SPACE}\\x00][^\\x00]*$"
# A web address: no space, no control character (C0, DEL, C1).
WEB_URL = f"^https?://[^{SPACE}\\x00-\\x1f\\x7f-\\x9f]+$"


def one_of(values: Callable[[], Iterable[str]]) -> Any:
    """A string the handler checks against `values()`: an enum in the schema, read when the
    schema is built (channels come from entry points, not from this module)."""

    def listed(schema: dict[str, Any]) -> None:
        schema["enum"] = list(values())

    return Field(json_schema_extra=listed)


def channel_names() -> list[str]:
    return list(load_channels())


def channel_names_and_labels() -> list[str]:
    """What resolve_channel takes: a name (wechat) or what people call it (微信公众号)."""
    catalogue = channel_catalogue()
    return [*catalogue, *catalogue.values()]


def role_names_and_labels() -> list[str]:
    """What org.parse_role takes: contributor or its label, say."""
    return list(ROLE_BY_NAME)


ChannelName = Annotated[str, one_of(channel_names)]
ChannelNameOrLabel = Annotated[str, one_of(channel_names_and_labels)]


class StrictBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class ErrorBody(BaseModel):
    """Every refusal: a stable English code, a Chinese message, sometimes details."""

    error: str
    message: str
    details: Any = None


# --- sign-in and tokens ---------------------------------------------------------------------


class SignIn(StrictBody):
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=1024)


class RoleOut(BaseModel):
    role: str
    label: str


class DepartmentOut(BaseModel):
    code: str
    name: str


class PersonOut(BaseModel):
    username: str
    name: str
    department: DepartmentOut | None
    roles: list[RoleOut]


class SessionOut(BaseModel):
    csrf_token: str
    person: PersonOut


class SignedOut(BaseModel):
    signed_out: bool


class TokenIn(StrictBody):
    name: Text = Field(min_length=1, max_length=100)
    days: Annotated[int, Field(ge=1, le=3650), BeforeValidator(whole)] | None = None


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="只显示这一次，请妥善保存")


class Revoked(BaseModel):
    id: int
    revoked: bool


# --- submissions ----------------------------------------------------------------------------


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


# --- review and the gate --------------------------------------------------------------------


class ReviewIn(StrictBody):
    stage: Literal["first", "second", "final", "principal", "usage", "sign_off"]
    decision: Literal["approve", "return", "reject"]
    comment: Text = Field(default="", max_length=5000)
    password: Text = Field(min_length=1, max_length=1024, description="再次输入密码以解锁签名私钥")
    channels: list[ChannelIn] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="稿件用途（usage 且 approve）：综合科决定的审批表行；缺省保持科室申请的行",
    )


class ReviewResult(BaseModel):
    action: int
    version: int
    stage: str
    decision: str
    signature: str
    waiting: str | None
    waiting_label: str | None
    gate_passed: bool
    publications: list[int]


class ViolationOut(BaseModel):
    code: str
    message: str
    stage: str | None
    action: str
    publication: str = Field(default="", description="所涉发布记录（如 P12），无则为空")


class AidOut(BaseModel):
    code: str
    message: str
    excerpt: str


class ChannelProblemOut(BaseModel):
    channel: str
    code: str
    message: str
    field: str


class GateOut(BaseModel):
    submission: int
    passed: bool
    waiting: str | None
    waiting_label: str | None
    violations: list[ViolationOut]
    aids: list[AidOut]
    channel_problems: list[ChannelProblemOut]


# --- publications ---------------------------------------------------------------------------


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


class DelegationIn(StrictBody):
    deputy: Text = Field(min_length=1, max_length=64, description="代理人用户名")
    acting_for: Text = Field(min_length=1, max_length=64, description="被代理人用户名")
    role: Annotated[str, one_of(role_names_and_labels)] = Field(
        min_length=1, max_length=64, description="代行的角色"
    )
    department: Text | None = Field(default=None, max_length=64, description="代理的科室代码")
    start: IsoDate = Field(description="开始日期（含）")
    end: IsoDate = Field(description="结束日期（含）")
    note: Text = Field(default="", max_length=500)


class DelegationOut(BaseModel):
    id: int
    deputy: str
    deputy_name: str
    acting_for: str
    acting_for_name: str
    role: str
    role_label: str
    department: str | None
    valid_from: datetime
    valid_until: datetime | None
    granted_by: str
    note: str


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


class PublishedByHandIn(StrictBody):
    url: str = Field(min_length=1, max_length=1000, pattern=WEB_URL, description="平台上的文章链接")
    external_id: str = Field(
        default="",
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="平台的文章编号（如有），不含控制字符",
    )
    comment: Text = Field(default="", max_length=500, description="备注，签入签名")
    password: Text = Field(min_length=1, max_length=1024, description="密码，解锁签名私钥")


class VerificationOut(BaseModel):
    id: int
    publication: int
    checked_at: datetime
    checked_at_local: str
    trigger: str
    actor: str
    url: str
    verdict: str = Field(
        description="consistent 一致、mismatch 不一致、unreachable 无法访问、removed 已删除"
    )
    verdict_label: str
    code: str
    reason: str
    http_status: int | None
    page_sha256: str
    snapshot_sha256: str | None
    similarity: float
    diff: list[list[str]] = Field(
        description="[操作, 文字]：equal、insert（线上多出）、delete（线上缺少）"
    )
    images: dict[str, Any]


class VerifiedOut(BaseModel):
    publication: int
    state: str
    state_label: str
    verification: VerificationOut


class RepostRequest(StrictBody):
    channels: list[ChannelNameOrLabel] = Field(default_factory=list, max_length=10)


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


# --- organisation, channels, audit ----------------------------------------------------------


class ChannelOut(BaseModel):
    name: str
    label: str
    kind: str


class BadRowOut(BaseModel):
    """A review action or publication the audit chain does not vouch for."""

    table: str
    id: int
    event: int | None = None  # the audit event whose record the row no longer matches


class AuditOut(BaseModel):
    ok: bool
    rows: int
    head: str
    first_bad_id: int | None
    problem: str
    first_bad_row: BadRowOut | None = None
    row_problems: list[str] = []
