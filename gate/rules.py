"""The review rules, each a small function, in the order they are read and reported.

Which actions count: an action counts when it was made for this submission and for this exact
version (its fingerprint equals `fingerprint(record.content)`) and passes every check in
`ACTION_CHECKS`. Among counting actions, in the order they were made, a 退回 voids every
approval made before it (the review restarts from 初审) and a 驳回 ends this version for good.
The approvals left are the *effective approvals*; `RULES` judge them.

Because the fingerprint covers the content's channel rows, one 签发 covers every channel the
content requests, with exactly the publish dates and remarks it requests; changing any row is a
new version that needs a new review. A signed 改期 (`DateAmendment`) by a 签发 role after the
sign-off moves one row's date; the publication rows handed in with the record must each name a
signed channel and fall on its (amended) day in the policy's time zone.

Stages the policy scopes to the item's department count only when the reviewer's role covers
that department at the time (`role_covers`): their own for a 供稿人 or 科室负责人, the
departments a 分管领导 is in charge of, or the department a delegate (代理) stands in for.

稿件用途 (`ReviewStage.USAGE`, 综合科) decides where an item goes; when it changes the 审批表
rows, the record carries the content the earlier stages approved (`reviewed_as`): their
approvals of it count for this version when the two differ only by the rows.

A repost (转载) of the office's own item, handed in with the original's record (`original`),
needs 签发 alone when the original's chain passes `CHAIN_RULES` and the repost differs from it
only by the source and the channel rows; else every stage, and `repost_original_unusable` says
why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from urllib.parse import urlsplit

from gate.canonical import fingerprint
from gate.model import (
    STAGE_ORDER,
    Content,
    DateAmendment,
    Decision,
    Person,
    ReviewAction,
    ReviewRecord,
    ReviewStage,
    RoleAssignment,
)
from gate.policy import Policy
from gate.signature import amendment_signature_valid, signature_valid
from gate.verdict import Violation, violation

SIGN_OFF = ReviewStage.SIGN_OFF


class ReviewContext:
    """One record under one policy at one moment; what the rules share, computed once."""

    def __init__(
        self,
        record: ReviewRecord,
        policy: Policy,
        now: datetime,
        checks: Sequence[ActionCheck] = (),
    ) -> None:
        if now.utcoffset() is None:
            raise ValueError("`now` must be timezone-aware")
        self.record = record
        self.policy = policy
        self.now = now
        self.checks = checks or ACTION_CHECKS
        self.fingerprint = _fingerprint(record)
        # 稿件用途 changed the rows: what else changed too (nothing, or the earlier approvals
        # do not carry), and the fingerprint of the version the earlier stages approved.
        self.usage_changed = _usage_changed(record)
        self.reviewed_fingerprint = (
            _content_fingerprint(record.reviewed_as)
            if record.reviewed_as is not None and not self.usage_changed
            else None
        )
        # Actions on this submission and version, in the order they were made.
        self.this_version = _this_version(record, self.fingerprint, self.reviewed_fingerprint)
        # For each of them, what the checks found wrong: anything means it does not count.
        self.action_violations = tuple(self._screen(a) for a in self.this_version)
        screened = zip(self.this_version, self.action_violations, strict=True)
        self.counting = tuple(a for a, found in screened if not found)
        self.rejection = next((a for a in self.counting if a.decision is Decision.REJECT), None)
        # Counting approvals after the last 退回, and those it voided, in the order made.
        self.effective_approvals, self.voided_approvals = _replay(self.counting)
        # The first effective approval of each stage: the one that counts.
        self.approval_of: dict[ReviewStage, ReviewAction] = {}
        for action in self.effective_approvals:
            self.approval_of.setdefault(action.stage, action)
        # For a repost of our own item: why the original's reviews cannot stand ("" when they can).
        self.original_problem = _original_problem(record, policy, now)
        self.required_stages = _required_stages(record, policy, self.original_problem)
        # Each signed channel's 发布日期 after the valid 改期, with the 改期 that set it.
        self.signed_dates, self.amendment_violations = _amended_dates(self)

    def _screen(self, action: ReviewAction) -> tuple[Violation, ...]:
        found: list[Violation] = []
        for check in self.checks:
            problem = check(self, action)
            if problem is not None:
                found.append(problem)
                if check in TRUST_CHECKS:
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


def _fingerprint(record: ReviewRecord) -> str | None:
    """None when the content cannot be made canonical (a naive time): then nothing counts."""
    return _content_fingerprint(record.content)


def _content_fingerprint(content: Content) -> str | None:
    try:
        return fingerprint(content)
    except ValueError:
        return None


def _usage_changed(record: ReviewRecord) -> list[str]:
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


def _this_version(
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
    timed = sorted((a for a in mine if _aware(a.acted_at)), key=lambda a: a.acted_at)
    return (*timed, *(a for a in mine if not _aware(a.acted_at)))


def _replay(
    counting: Iterable[ReviewAction],
) -> tuple[tuple[ReviewAction, ...], tuple[ReviewAction, ...]]:
    current: list[ReviewAction] = []
    voided: list[ReviewAction] = []
    for action in counting:
        if action.decision is Decision.APPROVE:
            current.append(action)
        elif action.decision is Decision.RETURN:
            voided += current
            current = []
    return tuple(current), tuple(voided)


def _required_stages(
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


def _original_problem(record: ReviewRecord, policy: Policy, now: datetime) -> str:
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
    found = next(violations(ReviewContext(original, policy, now), CHAIN_RULES), None)
    if found is not None:
        return f"原稿的审核记录不完整：{found.message}"
    return ""


SignedDates = dict[str, tuple[date, DateAmendment | None]]


def _amended_dates(context: ReviewContext) -> tuple[SignedDates, tuple[Violation, ...]]:
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
        if not _aware(a.acted_at)
    ]
    for amendment in sorted((a for a in mine if _aware(a.acted_at)), key=lambda a: a.acted_at):
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


def _amendment_problem(context: ReviewContext, amendment: DateAmendment, dates: SignedDates) -> str:
    """Why this 改期 cannot amend the signed rows, or "" when it can."""
    person = context.record.people.get(amendment.actor_id)
    if person is None:
        return f"改期人（{amendment.actor_id}）不在人员名单中"
    if not amendment_signature_valid(amendment, person.public_key):
        return "改期签名无效（记录可能在签名后被改动）"
    at = amendment.acted_at
    roles = context.policy.roles_for(SIGN_OFF)
    if not any(h.role in roles and _holds_at(h, at) for h in person.assignments):
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


def role_covers(held: RoleAssignment, person: Person, department: str) -> bool:
    """Whether an assignment covers `department`: its own list, else the holder's department."""
    covered = held.departments
    if covered is None:
        return person.department is not None and person.department == department
    return department in covered


def role_problem(
    person: Person, stage: ReviewStage, department: str, policy: Policy, at: datetime
) -> str | None:
    """The code of what keeps `person` from acting at `stage` on an item of `department` at `at`:
    `role_not_held`, `role_out_of_scope`, or None when they may."""
    roles = policy.roles_for(stage)
    held = [h for h in person.assignments if h.role in roles and _holds_at(h, at)]
    if not held:
        return "role_not_held"
    if policy.scoped(stage) and not any(role_covers(h, person, department) for h in held):
        return "role_out_of_scope"
    return None


def _aware(moment: datetime) -> bool:
    return moment.utcoffset() is not None


def _holds_at(held: RoleAssignment, at: datetime) -> bool:
    return held.valid_from <= at and (held.valid_until is None or at < held.valid_until)


def _has_space(text: str) -> bool:
    return any(ch.isspace() for ch in text.strip())


def _action_violation(code: str, action: ReviewAction, **fields: object) -> Violation:
    return violation(code, stage=action.stage, action_id=action.id, **fields)


def _about(context: ReviewContext, action: ReviewAction) -> dict[str, object]:
    return {"decision": action.decision.label, "actor": context.name(action.actor_id)}


# --- checks on one action of this version: any finding means the action does not count ---

ActionCheck = Callable[[ReviewContext, ReviewAction], Violation | None]


def check_time_aware(context: ReviewContext, action: ReviewAction) -> Violation | None:
    if _aware(action.acted_at):
        return None
    return _action_violation("action_time_invalid", action, **_about(context, action))


def check_actor_known(context: ReviewContext, action: ReviewAction) -> Violation | None:
    if action.actor_id in context.record.people:
        return None
    return _action_violation("unknown_actor", action, **_about(context, action))


def check_signature(context: ReviewContext, action: ReviewAction) -> Violation | None:
    if signature_valid(action, context.record.people[action.actor_id].public_key):
        return None
    return _action_violation("signature_invalid", action, **_about(context, action))


def check_role_held(context: ReviewContext, action: ReviewAction) -> Violation | None:
    """The actor held a role of the stage at the time, covering the item's department when the
    policy scopes the stage (a delegate only inside the delegation's dates)."""
    department = context.record.department
    person = context.record.people[action.actor_id]
    code = role_problem(person, action.stage, department, context.policy, action.acted_at)
    if code is None:
        return None
    labels = "、".join(sorted(r.label for r in context.policy.roles_for(action.stage)))
    return _action_violation(
        code,
        action,
        acted_at=action.acted_at.isoformat(),
        roles=labels,
        department=department,
        **_about(context, action),
    )


def check_not_in_future(context: ReviewContext, action: ReviewAction) -> Violation | None:
    if action.acted_at <= context.now + context.policy.clock_skew:
        return None
    return _action_violation(
        "action_in_future", action, acted_at=action.acted_at.isoformat(), **_about(context, action)
    )


ACTION_CHECKS: tuple[ActionCheck, ...] = (
    check_time_aware,
    check_actor_known,
    check_signature,
    check_role_held,
    check_not_in_future,
)
# A failure here ends the checks of that action: without an aware time and a known actor the
# signature cannot be checked, and the fields of a badly signed action say nothing reliable.
TRUST_CHECKS: frozenset[ActionCheck] = frozenset(
    {check_time_aware, check_actor_known, check_signature}
)


# --- rules over the whole record ---

Rule = Callable[[ReviewContext], Iterable[Violation]]


def rule_channels_requested(context: ReviewContext) -> Iterator[Violation]:
    """At least one channel row. No per-channel approval is needed: the fingerprint covers
    every row (channel, publish date, remark), so one 签发 covers exactly these channels."""
    if not context.record.content.channels:
        yield violation("no_channels")


def rule_repost_source_complete(context: ReviewContext) -> Iterator[Violation]:
    source = context.record.content.repost_source
    if source is None:
        return
    fields = (("来源平台", source.platform), ("原文链接", source.url))
    missing = [name for name, value in fields if not value.strip()]
    if missing:
        yield violation("repost_source_missing_fields", fields="、".join(missing))
    if not _aware(source.published_at):
        yield violation("repost_source_time_invalid")


def rule_repost_source_qualified(context: ReviewContext) -> Iterator[Violation]:
    source = context.record.content.repost_source
    if source is None or not source.platform.strip():
        return
    if source.platform.strip() not in context.policy.qualified_sources:
        yield violation("source_not_qualified", platform=source.platform)


def rule_repost_source_url(context: ReviewContext) -> Iterator[Violation]:
    source = context.record.content.repost_source
    if source is None or not source.url.strip():
        return
    parts = urlsplit(source.url.strip())
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or _has_space(source.url)
    ):
        yield violation("repost_source_invalid", url=source.url)


def rule_images_stored(context: ReviewContext) -> Iterator[Violation]:
    """Every image the content names is stored, with bytes that still hash to that name."""
    content = context.record.content
    named = list(dict.fromkeys([*content.image_hashes, *filter(None, [content.cover_hash])]))
    stored = context.record.stored_images
    if not named:
        return
    if stored is None:
        yield violation("images_unverified")
        return
    for sha in named:
        if sha not in stored:
            yield violation("images_unverified")
        elif stored[sha] is None:
            yield violation("image_missing", image=sha[:12])
        elif stored[sha] != sha:
            yield violation("image_bytes_changed", image=sha[:12], actual=str(stored[sha])[:12])


def rule_amendments_valid(context: ReviewContext) -> Iterator[Violation]:
    yield from context.amendment_violations


def rule_publications_signed(context: ReviewContext) -> Iterator[Violation]:
    """Each row handed in goes out on a signed channel, on its signed (or amended) day."""
    zone = context.policy.zone
    for row in context.record.publications:
        if row.origin_problem:
            yield violation("publication_origin", publication=row.id, reason=row.origin_problem)
        signed = context.signed_dates.get(row.channel)
        if signed is None:
            yield violation(
                "publication_channel_not_signed", publication=row.id, channel=row.channel
            )
            continue
        if not _aware(row.scheduled_at):
            yield violation("publication_time_invalid", publication=row.id, channel=row.channel)
            continue
        day = row.scheduled_at.astimezone(zone).date()
        if day != signed[0]:
            yield violation(
                "publication_date_not_signed",
                publication=row.id,
                channel=row.channel,
                day=day.isoformat(),
                signed=signed[0].isoformat(),
            )


def rule_actions_valid(context: ReviewContext) -> Iterator[Violation]:
    for found in context.action_violations:
        yield from found


def rule_not_rejected(context: ReviewContext) -> Iterator[Violation]:
    rejection = context.rejection
    if rejection is not None:
        yield _action_violation(
            "version_rejected", rejection, actor=context.name(rejection.actor_id)
        )


def rule_required_stages_present(context: ReviewContext) -> Iterator[Violation]:
    if context.rejection is not None:
        return  # nothing can complete a rejected version; `version_rejected` says so
    if context.original_problem and context.missing_stages:
        yield violation("repost_original_unusable", reason=context.original_problem)
    if context.usage_changed and context.missing_stages:
        # 稿件用途 may change the rows only: else the earlier approvals do not carry over
        yield violation("usage_rows_only", changed="、".join(context.usage_changed))
    for stage in context.missing_stages:
        yield violation(_why_missing(context, stage), stage=stage)


def _why_missing(context: ReviewContext, stage: ReviewStage) -> str:
    sid, fp = context.record.submission_id, context.fingerprint
    approvals = [
        a for a in context.record.actions if a.stage is stage and a.decision is Decision.APPROVE
    ]
    if any(a.stage is stage for a in context.voided_approvals):
        return "approval_voided_by_return"
    if any(a.submission_id == sid and a.fingerprint != fp for a in approvals):
        return "approval_for_other_version"
    if any(a.submission_id != sid for a in approvals):
        return "approval_for_other_submission"
    return "principal_review_missing" if stage is ReviewStage.PRINCIPAL else "stage_missing"


def rule_each_stage_once(context: ReviewContext) -> Iterator[Violation]:
    for action in context.effective_approvals:
        if context.approval_of[action.stage] is not action:
            yield _action_violation(
                "duplicate_approval", action, actor=context.name(action.actor_id)
            )


def rule_stages_in_order(context: ReviewContext) -> Iterator[Violation]:
    """Each stage's approval is made after the approvals of every earlier stage (签发 aside)."""
    approval_of = context.approval_of
    done = [approval_of[s] for s in STAGE_ORDER if s in approval_of and s is not SIGN_OFF]
    for i, action in enumerate(done):
        overtaken = next((e for e in done[:i] if e.acted_at >= action.acted_at), None)
        if overtaken is not None:
            yield _action_violation("stage_out_of_order", action, other=overtaken.stage.label)


def rule_sign_off_last(context: ReviewContext) -> Iterator[Violation]:
    sign_off = context.approval_of.get(SIGN_OFF)
    if sign_off is None:
        return
    for action in context.approval_of.values():
        if action is not sign_off and action.acted_at >= sign_off.acted_at:
            yield _action_violation("signoff_not_last", action)


def rule_one_stage_per_person(context: ReviewContext) -> Iterator[Violation]:
    first_stage_of: dict[str, ReviewStage] = {}
    for stage in STAGE_ORDER:
        action = context.approval_of.get(stage)
        if action is None:
            continue
        earlier = first_stage_of.setdefault(action.actor_id, stage)
        if earlier is not stage:
            yield _action_violation(
                "same_person_multiple_stages",
                action,
                actor=context.name(action.actor_id),
                other=earlier.label,
            )


def rule_author_only_first_review(context: ReviewContext) -> Iterator[Violation]:
    author = context.record.author_id
    for stage, action in context.approval_of.items():
        if stage is not ReviewStage.FIRST and action.actor_id == author:
            yield _action_violation(
                "author_reviewed_later_stage", action, actor=context.name(author)
            )


RULES: tuple[Rule, ...] = (
    rule_channels_requested,
    rule_repost_source_complete,
    rule_repost_source_qualified,
    rule_repost_source_url,
    rule_images_stored,
    rule_actions_valid,
    rule_not_rejected,
    rule_required_stages_present,
    rule_each_stage_once,
    rule_stages_in_order,
    rule_sign_off_last,
    rule_one_stage_per_person,
    rule_author_only_first_review,
    rule_amendments_valid,
    rule_publications_signed,
)


# The rules that say whether a version's review chain is complete, whatever its rows and files.
CHAIN_RULES: tuple[Rule, ...] = tuple(
    r
    for r in RULES
    if r not in (rule_images_stored, rule_amendments_valid, rule_publications_signed)
)


def violations(context: ReviewContext, rules: Iterable[Rule] = RULES) -> Iterator[Violation]:
    for rule in rules:
        yield from rule(context)
