"""Builders for review records with real Ed25519 signatures (one key pool per test run)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from nacl.signing import SigningKey

from gate.canonical import fingerprint
from gate.model import (
    ChannelRequest,
    Content,
    DateAmendment,
    Decision,
    Person,
    PublicationRow,
    RepostSource,
    ReviewAction,
    ReviewRecord,
    ReviewStage,
    Role,
    RoleAssignment,
)
from gate.signature import sign_action, sign_amendment

T0 = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
SUBMISSION = "S-1"
DEPARTMENT = "政府网站运行科"
AUTHOR = "zhang"
SINCE = datetime(2020, 1, 1, tzinfo=UTC)

# person id -> (name, roles held since SINCE)
STAFF: dict[str, tuple[str, tuple[Role, ...]]] = {
    "zhang": ("张供稿", (Role.CONTRIBUTOR,)),
    "li": ("李编辑", (Role.CONTRIBUTOR,)),
    "wang": ("王科长", (Role.SECTION_HEAD,)),
    "zhao": ("赵分管", (Role.LEADER_IN_CHARGE,)),
    "chen": ("陈主任", (Role.PRINCIPAL_LEADER,)),
    "sun": ("孙宣传", (Role.PUBLICITY_LEADER,)),
    "zhou": ("周科长", (Role.SECTION_HEAD,)),
    "wu": ("吴综合", (Role.GENERAL_OFFICE,)),
}
KEYS: dict[str, SigningKey] = {pid: SigningKey.generate() for pid in STAFF}
OUTSIDER_KEY = SigningKey.generate()

# The usual reviewer of each stage.
REVIEWER: dict[ReviewStage, str] = {
    ReviewStage.FIRST: "zhang",
    ReviewStage.SECOND: "wang",
    ReviewStage.FINAL: "zhao",
    ReviewStage.PRINCIPAL: "chen",
    ReviewStage.USAGE: "wu",
    ReviewStage.SIGN_OFF: "sun",
}
# What an ordinary item needs; a major event or special content adds 主要领导审定.
STAGES = (
    ReviewStage.FIRST,
    ReviewStage.SECOND,
    ReviewStage.FINAL,
    ReviewStage.USAGE,
    ReviewStage.SIGN_OFF,
)
MAJOR_STAGES = (*STAGES[:3], ReviewStage.PRINCIPAL, *STAGES[3:])


def person(pid: str, roles: Iterable[Role] | None = None, since: datetime = SINCE) -> Person:
    name, default_roles = STAFF[pid]
    held = tuple(RoleAssignment(r, since) for r in (default_roles if roles is None else roles))
    return Person(pid, name, KEYS[pid].verify_key.encode(), held, DEPARTMENT)


def people(**overrides: Person) -> dict[str, Person]:
    staff = {pid: person(pid) for pid in STAFF}
    staff.update(overrides)
    return staff


def content(**changes: object) -> Content:
    base = Content(
        title="青浦区政务服务办公室推进“一网通办”改革",
        body_html="<p>5月6日，区政务服务办公室召开“一网通办”工作推进会。</p>",
        image_hashes=("a" * 64, "b" * 64),
        channels=(
            ChannelRequest("政府网站", date(2024, 5, 8)),
            ChannelRequest("微信公众号", date(2024, 5, 8), "头条"),
        ),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


REPOST = RepostSource("学习强国", "https://www.xuexi.cn/a/1.html", T0 - timedelta(days=1))


def act(
    stage: ReviewStage,
    minutes: float,
    *,
    of: Content | None = None,
    actor: str | None = None,
    decision: Decision = Decision.APPROVE,
    submission: str = SUBMISSION,
    comment: str = "",
    key: SigningKey | None = None,
) -> ReviewAction:
    """A signed action made `minutes` after T0 for the version `of` (default content())."""
    actor = REVIEWER[stage] if actor is None else actor
    action = ReviewAction(
        submission_id=submission,
        fingerprint=fingerprint(content() if of is None else of),
        stage=stage,
        decision=decision,
        actor_id=actor,
        acted_at=T0 + timedelta(minutes=minutes),
        signature=b"",
        comment=comment,
        id=f"{stage.value}-{actor}-{minutes}",
    )
    return sign_action(action, KEYS[actor] if key is None else key)


def approvals(of: Content, stages: Iterable[ReviewStage] = STAGES) -> list[ReviewAction]:
    return [act(stage, 10 * (i + 1), of=of) for i, stage in enumerate(stages)]


def amend(
    channel: str,
    old: date,
    new: date,
    minutes: float,
    *,
    actor: str = "sun",
    of: Content | None = None,
    key: SigningKey | None = None,
) -> DateAmendment:
    """A 改期 of `channel`'s row from `old` to `new`, signed `minutes` after T0 by `actor`."""
    amendment = DateAmendment(
        submission_id=SUBMISSION,
        fingerprint=fingerprint(content() if of is None else of),
        channel=channel,
        old_date=old,
        new_date=new,
        actor_id=actor,
        acted_at=T0 + timedelta(minutes=minutes),
        signature=b"",
        id=f"amend-{channel}-{minutes}",
    )
    return sign_amendment(amendment, KEYS[actor] if key is None else key)


def row(channel: str, day: date, hour: int = 9, origin: str = "") -> PublicationRow:
    """A publication row of `channel` at `hour` o'clock Shanghai time on `day`."""
    local = datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("Asia/Shanghai"))
    return PublicationRow(f"P-{channel}", channel, local.astimezone(UTC), origin)


def intact(of: Content) -> dict[str, str | None]:
    """What the store holds for `of`'s images when nothing was changed: each under its hash."""
    return {sha: sha for sha in (*of.image_hashes, *filter(None, [of.cover_hash]))}


def record(
    of: Content | None = None,
    actions: Iterable[ReviewAction] | None = None,
    *,
    staff: dict[str, Person] | None = None,
    department: str = DEPARTMENT,
) -> ReviewRecord:
    """A record of `of`; by default approved by the usual reviewers, 10 minutes apart."""
    of = content() if of is None else of
    if actions is None:
        needs_principal = of.major_event or of.special_content
        actions = approvals(of, MAJOR_STAGES if needs_principal else STAGES)
    return ReviewRecord(
        submission_id=SUBMISSION,
        department=department,
        author_id=AUTHOR,
        content=of,
        actions=tuple(actions),
        people=people() if staff is None else staff,
        stored_images=intact(of),
    )


def with_content(rec: ReviewRecord, **changes: object) -> ReviewRecord:
    """The same actions over an edited version (they were signed for the old one), its images
    stored intact."""
    edited = dataclasses.replace(rec.content, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(rec, content=edited, stored_images=intact(edited))


def replace_action(rec: ReviewRecord, stage: ReviewStage, new: ReviewAction) -> ReviewRecord:
    actions = tuple(new if a.stage is stage else a for a in rec.actions)
    return dataclasses.replace(rec, actions=actions)


def add_actions(rec: ReviewRecord, *extra: ReviewAction) -> ReviewRecord:
    return dataclasses.replace(rec, actions=(*rec.actions, *extra))


def drop_stage(rec: ReviewRecord, stage: ReviewStage) -> ReviewRecord:
    return dataclasses.replace(rec, actions=tuple(a for a in rec.actions if a.stage is not stage))
