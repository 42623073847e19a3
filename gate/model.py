"""The review record the gate judges: plain, frozen values with no I/O.

The orchestrator builds these from its database rows; the gate never sees a row.
All datetimes are timezone-aware (UTC is expected; any aware value compares correctly).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime


class Role(enum.StrEnum):
    """People's roles, as the seed names them."""

    CONTRIBUTOR = "contributor"  # 供稿人/信息稿件编辑人员
    SECTION_HEAD = "section_head"  # 科室负责人/支部书记
    LEADER_IN_CHARGE = "leader_in_charge"  # 分管领导
    PRINCIPAL_LEADER = "principal_leader"  # 主要领导
    PUBLICITY_LEADER = "publicity_leader"  # 宣传分管领导
    GENERAL_OFFICE = "general_office"  # 综合科
    WEB_OPERATIONS = "web_operations"  # 政府网站运行科
    OPERATOR = "operator"  # 运维值守

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.CONTRIBUTOR: "供稿人/编辑",
    Role.SECTION_HEAD: "科室负责人/支部书记",
    Role.LEADER_IN_CHARGE: "分管领导",
    Role.PRINCIPAL_LEADER: "主要领导",
    Role.PUBLICITY_LEADER: "宣传分管领导",
    Role.GENERAL_OFFICE: "综合科",
    Role.WEB_OPERATIONS: "政府网站运行科",
    Role.OPERATOR: "值守运维",
}


class ReviewStage(enum.StrEnum):
    """The stages in the order the seed requires them."""

    FIRST = "first"  # 初审
    SECOND = "second"  # 复审
    FINAL = "final"  # 终审
    PRINCIPAL = "principal"  # 主要领导审定 (major events / special content only)
    USAGE = "usage"  # 稿件用途: 综合科 decides where it goes (upward, own, both) before 签发
    SIGN_OFF = "sign_off"  # 签发

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]

    @property
    def rank(self) -> int:
        return STAGE_ORDER.index(self)


STAGE_ORDER: tuple[ReviewStage, ...] = (
    ReviewStage.FIRST,
    ReviewStage.SECOND,
    ReviewStage.FINAL,
    ReviewStage.PRINCIPAL,
    ReviewStage.USAGE,
    ReviewStage.SIGN_OFF,
)

STAGE_LABELS: dict[ReviewStage, str] = {
    ReviewStage.FIRST: "初审",
    ReviewStage.SECOND: "复审",
    ReviewStage.FINAL: "终审",
    ReviewStage.PRINCIPAL: "主要领导审定",
    ReviewStage.USAGE: "稿件用途",
    ReviewStage.SIGN_OFF: "签发",
}


class Decision(enum.StrEnum):
    APPROVE = "approve"  # 通过
    RETURN = "return"  # 退回
    REJECT = "reject"  # 驳回

    @property
    def label(self) -> str:
        return {"approve": "通过", "return": "退回", "reject": "驳回"}[self.value]


@dataclass(frozen=True, slots=True)
class ChannelRequest:
    """One row of the 审批表: a channel (发布形式) with its publish date and remark."""

    channel: str
    publish_date: date
    remark: str = ""


@dataclass(frozen=True, slots=True)
class RepostSource:
    """Where a reposted (转载) item was first published."""

    platform: str
    url: str
    published_at: datetime


@dataclass(frozen=True, slots=True)
class Content:
    """Everything that will go out, exactly; the fingerprint is computed over all of it."""

    title: str
    body_html: str
    image_hashes: tuple[str, ...] = ()  # SHA-256 hex of each image's bytes, in body order
    cover_hash: str | None = None  # SHA-256 hex of the cover image (WeChat needs one)
    digest: str = ""  # 摘要, published with the article on some channels
    byline: str = ""  # the author line as published
    major_event: bool = False  # 重大事件
    special_content: bool = False  # 特殊内容
    channels: tuple[ChannelRequest, ...] = ()
    repost_source: RepostSource | None = None


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """A role held from `valid_from` (inclusive) until `valid_until` (exclusive, None = open).

    `departments` are the 科室/窗口 the role covers: None means the holder's own department (a
    供稿人's or 科室负责人's), a set names them (the departments a 分管领导 is in charge of, or
    the one department an acting holder stands in for). Office-wide stages ignore it.
    `acting_for` names the person whose duty a delegate (代理) holds for these dates.
    """

    role: Role
    valid_from: datetime
    valid_until: datetime | None = None
    departments: frozenset[str] | None = None
    acting_for: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    public_key: bytes  # raw 32-byte Ed25519 public key
    assignments: tuple[RoleAssignment, ...] = ()
    department: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewAction:
    """A signed review decision. `fingerprint` is the version it claims to approve."""

    submission_id: str
    fingerprint: str
    stage: ReviewStage
    decision: Decision
    actor_id: str
    acted_at: datetime
    signature: bytes
    comment: str = ""
    id: str = ""  # the caller's row id, echoed in violations


@dataclass(frozen=True, slots=True)
class DateAmendment:
    """A signed 改期: the 宣传分管领导 moves a signed row's 发布日期 from `old_date` to `new_date`.

    It amends the row of `channel` in the version named by `fingerprint`; amendments chain, each
    starting from the date the one before it set.
    """

    submission_id: str
    fingerprint: str
    channel: str
    old_date: date
    new_date: date
    actor_id: str
    acted_at: datetime
    signature: bytes
    comment: str = ""
    id: str = ""


@dataclass(frozen=True, slots=True)
class PublicationRow:
    """A row that is about to go out (or may): the channel and the moment it is scheduled for.

    `origin_problem` is the caller's finding about where the row came from: empty when the row
    is the one the sign-off created (and every change to it was recorded), else the reason.
    """

    id: str
    channel: str
    scheduled_at: datetime
    origin_problem: str = ""


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """A version of a submission with every review action recorded for the submission.

    `stored_images` maps each image hash the content names to the SHA-256 of the bytes actually
    stored under it (None: missing). None for the whole mapping means nobody looked, which the
    gate refuses for content with images. `publications` are the rows to check against the
    signed 审批表 rows (amended by `amendments`).
    """

    submission_id: str
    department: str
    author_id: str
    content: Content
    actions: tuple[ReviewAction, ...]
    people: dict[str, Person] = field(default_factory=dict)
    stored_images: Mapping[str, str | None] | None = None
    publications: tuple[PublicationRow, ...] = ()
    amendments: tuple[DateAmendment, ...] = ()
    # For a repost (转载) of the office's own item after an upward platform adopted it: the
    # original's record (the version that went upward). When the original's review chain is
    # complete and this content differs from it only by the repost source and the channel rows,
    # 签发 alone is required (the seed: 签发 checks the source); otherwise every stage is.
    original: ReviewRecord | None = None
    # When 综合科's 稿件用途 changed the 审批表 rows: the content the stages before it approved
    # (this content with the department's rows). Their approvals of it count for this version
    # as long as the two differ only by the rows; 稿件用途 and 签发 must be of this version.
    reviewed_as: Content | None = None
    # A version signed off before the office had 稿件用途 (the database upgrade that brought it
    # marks them): it goes out as signed, without 稿件用途.
    usage_exempt: bool = False
