"""Which version a record is about, which of its actions belong to it, which stages it needs.

The fingerprint of the content names the version; actions count only for it (or, after a
稿件用途 that changed the rows only, for the version the earlier stages approved). A repost of
our own item needs 签发 alone when it stands on its original's reviews.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from gate.canonical import fingerprint
from gate.model import (
    STAGE_ORDER,
    Content,
    Decision,
    ReviewAction,
    ReviewRecord,
    ReviewStage,
)
from gate.policy import Policy
from gate.rules.basics import SIGN_OFF, aware
from gate.verdict import Violation

# What a repost of our own item must keep from the original: everything but the source and the
# channel rows (which own platforms, on which day).
SAME_AS_ORIGINAL = (
    ("title", "标题"),
    ("body_html", "正文"),
    ("image_hashes", "图片"),
    ("cover_hash", "封面"),
    ("digest", "摘要"),
    ("byline", "署名"),
    ("major_event", "重大事件标记"),
    ("special_content", "特殊内容标记"),
)

# The first violation of the chain rules in a record, judged under a policy at a moment.
ChainJudge = Callable[[ReviewRecord, Policy, datetime], Violation | None]


def content_fingerprint(content: Content) -> str | None:
    """None when the content cannot be made canonical (a naive time): then nothing counts."""
    try:
        return fingerprint(content)
    except ValueError:
        return None


def usage_changed(record: ReviewRecord) -> list[str]:
    """What besides the rows differs between this version and the one the stages before
    稿件用途 approved (nothing when 稿件用途 did not change the rows)."""
    if record.reviewed_as is None:
        return []
    fields = (*SAME_AS_ORIGINAL, ("repost_source", "转载来源"))
    return [
        label
        for name, label in fields
        if getattr(record.content, name) != getattr(record.reviewed_as, name)
    ]


def this_version(
    record: ReviewRecord, version: str | None, reviewed: str | None = None
) -> tuple[ReviewAction, ...]:
    """This version's actions; with `reviewed`, also the stages before 稿件用途 made for the
    version 稿件用途 changed only the rows of."""
    sid = record.submission_id
    usage = ReviewStage.USAGE.rank
    mine = [
        a
        for a in record.actions
        if a.submission_id == sid
        and (
            a.fingerprint == version
            or (reviewed is not None and a.fingerprint == reviewed and a.stage.rank < usage)
        )
    ]
    timed = sorted((a for a in mine if aware(a.acted_at)), key=lambda a: a.acted_at)
    return (*timed, *(a for a in mine if not aware(a.acted_at)))


def replay(
    counting: Iterable[ReviewAction],
) -> tuple[tuple[ReviewAction, ...], tuple[ReviewAction, ...]]:
    """The approvals after the last 退回, and those it voided, in the order made."""
    current: list[ReviewAction] = []
    voided: list[ReviewAction] = []
    for action in counting:
        if action.decision is Decision.APPROVE:
            current.append(action)
        elif action.decision is Decision.RETURN:
            voided += current
            current = []
    return tuple(current), tuple(voided)


def required_stages(
    record: ReviewRecord, policy: Policy, original_problem: str
) -> tuple[ReviewStage, ...]:
    if record.original is not None and not original_problem:
        return (SIGN_OFF,)
    content = record.content
    skipped = set()
    if not policy.usage_decision or record.usage_exempt:
        skipped.add(ReviewStage.USAGE)
    if policy.skips_second_review(record.department):
        skipped.add(ReviewStage.SECOND)
    if not policy.needs_principal_review(content.major_event, content.special_content):
        skipped.add(ReviewStage.PRINCIPAL)
    return tuple(s for s in STAGE_ORDER if s not in skipped)


def original_problem(
    record: ReviewRecord, policy: Policy, now: datetime, judge_chain: ChainJudge
) -> str:
    """Why a repost cannot stand on its original's reviews; "" when it can (or is no such
    repost). The original must pass the chain rules on its own (its rows and images are the
    original's business; this record's own images are checked as this record's)."""
    original = record.original
    if original is None:
        return ""
    content = record.content
    if content.repost_source is None:
        return "没有转载来源"
    if record.submission_id == original.submission_id:
        return "原稿不能是本稿自身"
    changed = [
        label
        for name, label in SAME_AS_ORIGINAL
        if getattr(content, name) != getattr(original.content, name)
    ]
    if changed:
        return f"与原稿相比改动了{'、'.join(changed)}"
    found = judge_chain(original, policy, now)
    if found is not None:
        return f"原稿的审核记录不完整：{found.message}"
    return ""
