"""What the rules share about one record under one policy at one moment, computed once.

`Context` is built with the checks an action must pass to count and with the judge of a
repost's original; `gate.rules.order.ReviewContext` is the one built with the gate's own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime

from gate.model import DateAmendment, Decision, ReviewAction, ReviewRecord, ReviewStage
from gate.policy import Policy
from gate.rules.basics import SIGN_OFF, aware, holds_at
from gate.rules.versions import (
    ChainJudge,
    content_fingerprint,
    original_problem,
    replay,
    required_stages,
    this_version,
    usage_changed,
)
from gate.signature import amendment_signature_valid
from gate.verdict import Violation, violation

SignedDates = dict[str, tuple[date, DateAmendment | None]]


class Context:
    """One record under one policy at one moment; what the rules share, computed once."""

    def __init__(
        self,
        record: ReviewRecord,
        policy: Policy,
        now: datetime,
        checks: Sequence[ActionCheck],
        trusted: Collection[ActionCheck],
        judge_chain: ChainJudge,
    ) -> None:
        if now.utcoffset() is None:
            raise ValueError("`now` must be timezone-aware")
        self.record = record
        self.policy = policy
        self.now = now
        self.checks = checks
        # A failure of a trusted check ends the checks of that action.
        self.trusted = trusted
        self.fingerprint = content_fingerprint(record.content)
        # 稿件用途 changed the rows: what else changed too (nothing, or the earlier approvals
        # do not carry), and the fingerprint of the version the earlier stages approved.
        self.usage_changed = usage_changed(record)
        self.reviewed_fingerprint = (
            content_fingerprint(record.reviewed_as)
            if record.reviewed_as is not None and not self.usage_changed
            else None
        )
        # Actions on this submission and version, in the order they were made.
        self.this_version = this_version(record, self.fingerprint, self.reviewed_fingerprint)
        # For each of them, what the checks found wrong: anything means it does not count.
        self.action_violations = tuple(self._screen(a) for a in self.this_version)
        screened = zip(self.this_version, self.action_violations, strict=True)
        self.counting = tuple(a for a, found in screened if not found)
        self.rejection = next((a for a in self.counting if a.decision is Decision.REJECT), None)
        # Counting approvals after the last 退回, and those it voided, in the order made.
        self.effective_approvals, self.voided_approvals = replay(self.counting)
        # The first effective approval of each stage: the one that counts.
        self.approval_of: dict[ReviewStage, ReviewAction] = {}
        for action in self.effective_approvals:
            self.approval_of.setdefault(action.stage, action)
        # For a repost of our own item: why the original's reviews cannot stand ("" when they can).
        self.original_problem = original_problem(record, policy, now, judge_chain)
        self.required_stages = required_stages(record, policy, self.original_problem)
        # Each signed channel's 发布日期 after the valid 改期, with the 改期 that set it.
        self.signed_dates, self.amendment_violations = _amended_dates(self)

    def _screen(self, action: ReviewAction) -> tuple[Violation, ...]:
        found: list[Violation] = []
        for check in self.checks:
            problem = check(self, action)
            if problem is not None:
                found.append(problem)
                if check in self.trusted:
                    break
        return tuple(found)

    @property
    def missing_stages(self) -> tuple[ReviewStage, ...]:
        return tuple(s for s in self.required_stages if s not in self.approval_of)

    def next_stage(self) -> ReviewStage | None:
        if self.rejection is not None:
            return None
        return next(iter(self.missing_stages), None)

    def name(self, actor_id: str) -> str:
        person = self.record.people.get(actor_id)
        return actor_id if person is None else f"{person.name}（{actor_id}）"


# A check on one action of this version: any finding means the action does not count.
ActionCheck = Callable[[Context, ReviewAction], Violation | None]


def _amended_dates(context: Context) -> tuple[SignedDates, tuple[Violation, ...]]:
    """Replay this version's 改期 in the order made; an invalid one is reported and skipped."""
    record = context.record
    dates: SignedDates = {c.channel: (c.publish_date, None) for c in record.content.channels}
    mine = [
        a
        for a in record.amendments
        if a.submission_id == record.submission_id and a.fingerprint == context.fingerprint
    ]
    found = [
        violation("amendment_invalid", action_id=a.id, channel=a.channel, reason="时间缺少时区")
        for a in mine
        if not aware(a.acted_at)
    ]
    for amendment in sorted((a for a in mine if aware(a.acted_at)), key=lambda a: a.acted_at):
        reason = _amendment_problem(context, amendment, dates)
        if reason:
            found.append(
                violation(
                    "amendment_invalid",
                    action_id=amendment.id,
                    channel=amendment.channel,
                    reason=reason,
                )
            )
        else:
            dates[amendment.channel] = (amendment.new_date, amendment)
    return dates, tuple(found)


def _amendment_problem(context: Context, amendment: DateAmendment, dates: SignedDates) -> str:
    """Why this 改期 cannot amend the signed rows, or "" when it can."""
    person = context.record.people.get(amendment.actor_id)
    if person is None:
        return f"改期人（{amendment.actor_id}）不在人员名单中"
    if not amendment_signature_valid(amendment, person.public_key):
        return "改期签名无效（记录可能在签名后被改动）"
    at = amendment.acted_at
    roles = context.policy.roles_for(SIGN_OFF)
    if not any(h.role in roles and holds_at(h, at) for h in person.assignments):
        return f"{context.name(amendment.actor_id)}在改期时不具有签发所需的角色"
    if at > context.now + context.policy.clock_skew:
        return f"改期时间（{at.isoformat()}）晚于当前时间"
    sign_off = context.approval_of.get(SIGN_OFF)
    if sign_off is None or at <= sign_off.acted_at:
        return "改期早于本版本的签发，不能修改未签发的发布日期"
    if amendment.channel not in dates:
        return f"审批表中没有渠道“{amendment.channel}”"
    current = dates[amendment.channel][0]
    if amendment.old_date != current:
        return (
            f"改期所依据的原日期 {amendment.old_date.isoformat()} 与当时的发布日期 "
            f"{current.isoformat()} 不符"
        )
    return ""
