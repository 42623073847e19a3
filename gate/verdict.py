"""What the gate says about a record: every violation at once, each with a stable code.

`VIOLATION_MESSAGES` is the one table of codes and their Chinese messages; a message is a
`str.format` template over the fields `violation()` is given (stage labels, names, times).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gate.model import ReviewStage

VIOLATION_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        # content
        "no_channels": "未填写任何发布形式（发布渠道），无法签发",
        "repost_source_missing_fields": "转载来源信息不完整：缺少{fields}",
        "repost_source_invalid": "转载来源链接不是有效的 http(s) 地址：{url}",
        "repost_source_time_invalid": "转载来源的首发时间缺少时区，无法核验",
        "source_not_qualified": "转载来源“{platform}”不在具有信息发布资质的平台名单内",
        "images_unverified": "未核对存储的图片文件，不能判定图片是否为审核时的原图",
        "image_missing": "图片 {image}… 在存储中缺失",
        "image_bytes_changed": (
            "图片 {image}… 的存储文件已被改动（现为 {actual}…），与审核时的原图不符"
        ),
        # one review action of this version
        "action_time_invalid": "{stage}{decision}意见的审核时间缺少时区，不予计入",
        "action_in_future": "{stage}{decision}意见的审核时间（{acted_at}）晚于当前时间，不予计入",
        "unknown_actor": "{stage}{decision}意见的审核人（{actor}）不在人员名单中，不予计入",
        "role_not_held": (
            "{actor}在审核时（{acted_at}）不具有{stage}所需的角色（{roles}），不予计入"
        ),
        "role_out_of_scope": (
            "{actor}在审核时（{acted_at}）所担任的{roles}不负责科室“{department}”，"
            "{stage}须由该科室的{roles}（或其代理人）审核，不予计入"
        ),
        "signature_invalid": (
            "{actor}的{stage}{decision}意见签名无效（记录可能在签名后被改动），不予计入"
        ),
        # the review process of this version
        "version_rejected": "本版本已被{actor}在{stage}驳回，不能再发布",
        "stage_missing": "缺少{stage}",
        "repost_original_unusable": "转载稿不能沿用原稿的审核（{reason}），须经完整审核",
        "principal_review_missing": "本稿涉及重大事件或特殊内容，须经主要领导审定",
        "approval_voided_by_return": "{stage}的通过意见已因退回失效，本版本需重新审核",
        "approval_for_other_version": "{stage}的通过意见针对的是旧版本，本版本需重新审核",
        "approval_for_other_submission": "{stage}的通过意见属于另一份申请，不能用于本申请",
        "duplicate_approval": "{stage}重复通过（{actor}），同一级只能通过一次",
        "stage_out_of_order": (
            "{stage}早于{other}完成，须按初审、复审、终审、审定、稿件用途、签发的顺序进行"
        ),
        "usage_rows_only": "稿件用途只能调整审批表的发布形式和日期，本版本还改动了{changed}",
        "signoff_not_last": "{stage}在签发之后完成，签发必须是最后一步",
        "same_person_multiple_stages": (
            "{actor}已审核{other}，不能再审核{stage}，每一级须由不同的人审核"
        ),
        "author_reviewed_later_stage": "作者{actor}只能参与初审，不能审核自己稿件的{stage}",
        # 改期 and the rows that go out
        "amendment_invalid": "“{channel}”的改期无效，不予计入：{reason}",
        "publication_origin": "发布记录 {publication} 来历不明，拒绝发送：{reason}",
        "publication_channel_not_signed": (
            "发布记录 {publication} 的渠道“{channel}”不在已签发的审批表中，拒绝发送"
        ),
        "publication_time_invalid": "发布记录 {publication}（{channel}）的发布时间缺少时区",
        "publication_date_not_signed": (
            "发布记录 {publication}（{channel}）排定在 {day}，与审批表签发的发布日期 {signed} "
            "不符；改到其他日期须经宣传分管领导签署改期"
        ),
    }
)

# The codes that report a required stage without a counting approval (one per stage).
MISSING_STAGE_CODES: frozenset[str] = frozenset(
    {
        "stage_missing",
        "principal_review_missing",
        "approval_voided_by_return",
        "approval_for_other_version",
        "approval_for_other_submission",
    }
)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule. `action_id` names the review action (or 改期) it concerns, and
    `publication` the publication row, when there is one."""

    code: str
    message: str
    stage: ReviewStage | None = None
    action_id: str = ""
    publication: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool
    violations: tuple[Violation, ...] = ()

    @classmethod
    def of(cls, violations: Iterable[Violation]) -> Verdict:
        found = tuple(violations)
        return cls(passed=not found, violations=found)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(v.code for v in self.violations)


def violation(
    code: str, *, stage: ReviewStage | None = None, action_id: str = "", **fields: object
) -> Violation:
    """Build a violation from the table; `stage` is also offered to the template as its label."""
    template = VIOLATION_MESSAGES[code]
    if stage is not None:
        fields.setdefault("stage", stage.label)
    publication = str(fields.get("publication", ""))
    return Violation(code, template.format(**fields), stage, action_id, publication)
