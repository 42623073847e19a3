"""The review form's model: the decision (stage, 通过/退回/驳回, the comment a non-approval
needs) and, at 稿件用途, the channels the item goes to, each with its day and note."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from starlette.datastructures import FormData

from channels.base import ChannelKind
from channels.registry import load_channels
from gate.model import ChannelRequest, Decision, ReviewStage
from orchestrator.errors import InvalidInput
from orchestrator.models import Version
from orchestrator.web.console.common import form_text, ordered_channels, utc_now

DECISIONS = {d.value: d for d in Decision}


@dataclass
class UsageRow:
    """One channel on 稿件用途's form: whether the item goes there, on which day, with what note."""

    channel: str
    label: str
    upward: bool
    chosen: bool
    day: str  # ISO text: what was typed is shown again as typed
    remark: str


def usage_rows(version: Version) -> list[UsageRow]:
    """Every registered channel, own platforms first, prefilled from the department's rows."""
    asked = {c.channel: c for c in version.channels}
    default_day = min((c.publish_date for c in version.channels), default=utc_now().date())
    classes = load_channels()
    return [
        UsageRow(
            channel=name,
            label=classes[name].display_name,
            upward=classes[name].kind is ChannelKind.UPWARD,
            chosen=name in asked,
            day=(asked[name].publish_date if name in asked else default_day).isoformat(),
            remark=asked[name].remark if name in asked else "",
        )
        for name in ordered_channels()
    ]


def usage_typed(form: FormData, rows: list[UsageRow]) -> list[UsageRow]:
    """The form's rows as they were typed, to show again when the decision was refused."""
    ticked = set(form.getlist("use"))
    return [
        replace(
            row,
            chosen=row.channel in ticked,
            day=form_text(form, f"date-{row.channel}"),
            remark=form_text(form, f"remark-{row.channel}"),
        )
        for row in rows
    ]


def usage_decided(form: FormData) -> list[ChannelRequest]:
    """The rows 稿件用途's form decides: each ticked channel with its day and note."""
    known = load_channels()
    rows = []
    for name in form.getlist("use"):
        if not isinstance(name, str) or name not in known:
            raise InvalidInput(f"未知发布渠道“{name}”", code="unknown_channel")
        day_text = form_text(form, f"date-{name}")
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            label = known[name].display_name
            raise InvalidInput(
                f"{label} 的发布日期无效：{day_text or '未填写'}", code="bad_date"
            ) from None
        rows.append(ChannelRequest(name, day, form_text(form, f"remark-{name}").strip()))
    if not rows:
        raise InvalidInput("请至少选择一个发布形式（对上报送或本单位平台）", code="no_channels")
    return rows


def parse_review(form: FormData) -> tuple[ReviewStage, Decision]:
    try:
        stage = ReviewStage(form_text(form, "stage"))
    except ValueError:
        raise InvalidInput("缺少审核环节，请刷新页面后重试", code="unknown_stage") from None
    decision = DECISIONS.get(form_text(form, "decision"))
    if decision is None:
        raise InvalidInput("请选择审核结论：通过、退回或驳回", code="decision_required")
    if decision is not Decision.APPROVE and not form_text(form, "comment").strip():
        raise InvalidInput(f"{decision.label}时请填写审核意见", code="comment_required")
    return stage, decision
