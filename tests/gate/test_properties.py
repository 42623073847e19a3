"""Random records against a separate, deliberately plain oracle of the rules.

The oracle is written from the rules in the brief, not from gate/rules.py: every action on
this version must be sound, and the approvals left after the last return must form one
strictly ordered sequence of distinct stages by distinct people.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey, VerifyKey

from gate import Policy, evaluate
from gate.canonical import fingerprint, signing_payload
from gate.model import (
    STAGE_ORDER,
    ChannelRequest,
    Content,
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
from gate.signature import sign_action

T0 = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=90)
SID = "S-1"
FIRST, SECOND, FINAL, PRINCIPAL, USAGE, SIGN_OFF = STAGE_ORDER
ROLE_OF = {
    FIRST: Role.CONTRIBUTOR,
    SECOND: Role.SECTION_HEAD,
    FINAL: Role.LEADER_IN_CHARGE,
    PRINCIPAL: Role.PRINCIPAL_LEADER,
    USAGE: Role.GENERAL_OFFICE,
    SIGN_OFF: Role.PUBLICITY_LEADER,
}
POLICIES = (
    Policy(),
    Policy(usage_decision=False),
    Policy(skip_second_review_departments=frozenset({"综合科"})),
    Policy(department_scoped_stages=frozenset()),
)
DEPARTMENTS = ("综合科", "政府网站运行科")
# The seed: 初审, 复审 and 终审 by the people of the item's own department (or its 分管领导).
SCOPED_BY_SEED = {STAGE_ORDER[0], STAGE_ORDER[1], STAGE_ORDER[2]}
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Two people per stage for valid-by-construction records, plus a small pool for random ones.
STAFF_IDS = [f"{stage.value}-{i}" for stage in STAGE_ORDER for i in range(2)]
POOL_IDS = [f"p{i}" for i in range(5)]
KEYS = {pid: SigningKey.generate() for pid in [*STAFF_IDS, *POOL_IDS]}
OUTSIDER = SigningKey.generate()
LONG_AGO = T0 - timedelta(days=365)

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def staff_person(pid: str) -> Person:
    stage = ReviewStage(pid.rsplit("-", 1)[0])
    held = (RoleAssignment(ROLE_OF[stage], LONG_AGO, departments=frozenset(DEPARTMENTS)),)
    return Person(pid, pid, KEYS[pid].verify_key.encode(), held)


STAFF = {pid: staff_person(pid) for pid in STAFF_IDS}

QUALIFIED_SOURCES = [
    None,
    RepostSource("学习强国", "https://www.xuexi.cn/a.html", T0),
    RepostSource("绿色青浦", "http://lsqp.example.cn/1", T0),
]
ANY_SOURCES = [
    *QUALIFIED_SOURCES,
    RepostSource("某自媒体", "https://m.example.cn/1", T0),
    RepostSource("学习强国", "ftp://www.xuexi.cn/a", T0),
    RepostSource("", "https://www.xuexi.cn/a.html", T0),
]
CHANNELS = (ChannelRequest("政府网站", date(2024, 5, 8)),)


@st.composite
def contents(draw: st.DrawFn, *, valid: bool = False) -> Content:
    return Content(
        title=draw(st.sampled_from(["通知", "推进会召开"])),
        body_html="<p>正文</p>",
        image_hashes=draw(st.sampled_from([(), ("a" * 64,)])),
        major_event=draw(st.booleans()),
        special_content=draw(st.booleans()),
        channels=CHANNELS if valid else draw(st.sampled_from([CHANNELS, ()])),
        repost_source=draw(st.sampled_from(QUALIFIED_SOURCES if valid else ANY_SOURCES)),
    )


def signed(
    content: Content,
    stage: ReviewStage,
    decision: Decision,
    actor: str,
    at: datetime,
    *,
    submission: str = SID,
    key: SigningKey | None = None,
) -> ReviewAction:
    action = ReviewAction(submission, fingerprint(content), stage, decision, actor, at, b"")
    return sign_action(action, KEYS.get(actor, OUTSIDER) if key is None else key)


# --- the oracle ---


def oracle(record: ReviewRecord, policy: Policy, now: datetime) -> bool:
    content = record.content
    if not content.channels:
        return False
    source = content.repost_source
    if source is not None:
        if source.platform.strip() not in policy.qualified_sources:
            return False
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", source.url.strip(), re.IGNORECASE):
            return False
    named = [*content.image_hashes, *([content.cover_hash] if content.cover_hash else [])]
    stored = record.stored_images
    if named and (stored is None or any(stored.get(h, "") != h for h in named)):
        return False
    for row in record.publications:
        dates = {c.channel: c.publish_date for c in content.channels}
        if row.origin_problem or row.channel not in dates:
            return False
        if row.scheduled_at.astimezone(SHANGHAI).date() != dates[row.channel]:
            return False
    version = fingerprint(content)
    mine = [
        a
        for a in sorted(record.actions, key=lambda a: a.acted_at)
        if a.submission_id == record.submission_id and a.fingerprint == version
    ]
    good = [
        a
        for a in mine
        if a.acted_at <= now + policy.clock_skew
        and a.actor_id in record.people
        and verifies(a, record.people[a.actor_id])
        and held(
            record.people[a.actor_id],
            policy.stage_roles[a.stage],
            a.acted_at,
            record.department if a.stage in scoped_stages(policy) else None,
        )
    ]
    if len(good) < len(mine):  # every action on this version must be sound, needed or not
        return False
    if any(a.decision is Decision.REJECT for a in good):
        return False
    returns = [i for i, a in enumerate(good) if a.decision is Decision.RETURN]
    start = returns[-1] + 1 if returns else 0
    approved = [a for a in good[start:] if a.decision is Decision.APPROVE]
    stages = [a.stage for a in approved]
    required = {FIRST, FINAL, SIGN_OFF}
    if policy.usage_decision:
        required.add(USAGE)
    if record.department not in policy.skip_second_review_departments:
        required.add(SECOND)
    if content.major_event or content.special_content:
        required.add(PRINCIPAL)
    ranks = [STAGE_ORDER.index(s) for s in stages]
    times = [a.acted_at for a in approved]
    actors = [a.actor_id for a in approved]
    return (
        len(set(stages)) == len(stages)
        and required <= set(stages)
        and ranks == sorted(ranks)
        and all(t1 < t2 for t1, t2 in itertools.pairwise(times))
        and len(set(actors)) == len(actors)
        and all(a.actor_id != record.author_id for a in approved if a.stage is not FIRST)
    )


def verifies(action: ReviewAction, person: Person) -> bool:
    payload = signing_payload(
        submission_id=action.submission_id,
        fingerprint=action.fingerprint,
        stage=action.stage,
        decision=action.decision,
        acted_at=action.acted_at,
        comment=action.comment,
    )
    try:
        VerifyKey(person.public_key).verify(payload, action.signature)
    except Exception:
        return False
    return True


def scoped_stages(policy: Policy) -> set[ReviewStage]:
    return set() if not policy.department_scoped_stages else SCOPED_BY_SEED


def held(person: Person, roles: frozenset[Role], at: datetime, department: str | None) -> bool:
    """A role of `roles` held at `at`; covering `department` unless it is None."""
    return any(
        r.role in roles
        and r.valid_from <= at
        and (r.valid_until is None or at < r.valid_until)
        and (
            department is None
            or (department in r.departments if r.departments is not None else False)
            or (r.departments is None and person.department == department)
        )
        for r in person.assignments
    )


# --- random records ---

TAMPERINGS = ("none", "none", "none", "comment", "time", "stage", "key", "version", "submission")


@st.composite
def random_people(draw: st.DrawFn) -> dict[str, Person]:
    people = {}
    for pid in POOL_IDS:
        roles = draw(
            st.lists(st.sampled_from(list(ROLE_OF.values())), min_size=1, max_size=3, unique=True)
        )
        held_ = []
        for role in roles:
            start = T0 + timedelta(minutes=draw(st.integers(-60, 60)))
            end = draw(st.none() | st.integers(0, 120).map(lambda m: T0 + timedelta(minutes=m)))
            covers = draw(st.sampled_from(SCOPES))
            held_.append(RoleAssignment(role, start, end, departments=covers))
        home = draw(st.sampled_from([None, *DEPARTMENTS]))
        people[pid] = Person(pid, pid, KEYS[pid].verify_key.encode(), tuple(held_), home)
    return people


SCOPES = [None, frozenset(), *(frozenset({d}) for d in DEPARTMENTS), frozenset(DEPARTMENTS)]


def intact(content: Content) -> dict[str, str | None]:
    return {h: h for h in (*content.image_hashes, *filter(None, [content.cover_hash]))}


def on_day(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)


@st.composite
def signed_rows(draw: st.DrawFn, content: Content) -> tuple[PublicationRow, ...]:
    """Rows the sign-off would create: a signed channel, at some hour of its signed day."""
    return tuple(
        PublicationRow(f"P{i}", c.channel, on_day(c.publish_date, draw(st.integers(0, 23))))
        for i, c in enumerate(content.channels)
        if draw(st.booleans())
    )


@st.composite
def random_actions(draw: st.DrawFn, content: Content, people: list[str]) -> list[ReviewAction]:
    other_version = dataclasses.replace(content, title=content.title + "（旧）")
    actions = []
    for _ in range(draw(st.integers(0, 8))):
        stage = draw(st.sampled_from(STAGE_ORDER))
        decision = draw(
            st.sampled_from([Decision.APPROVE] * 4 + [Decision.RETURN, Decision.REJECT])
        )
        actor = draw(st.sampled_from([*people, "ghost"]))
        at = T0 + timedelta(minutes=draw(st.integers(0, 100)))
        tamper = draw(st.sampled_from(TAMPERINGS))
        of = other_version if tamper == "version" else content
        submission = "S-2" if tamper == "submission" else SID
        key = OUTSIDER if tamper == "key" else None
        action = signed(of, stage, decision, actor, at, submission=submission, key=key)
        if tamper == "comment":
            action = dataclasses.replace(action, comment="改")
        elif tamper == "time":
            action = dataclasses.replace(action, acted_at=at + timedelta(seconds=1))
        elif tamper == "stage":
            action = dataclasses.replace(action, stage=draw(st.sampled_from(STAGE_ORDER)))
        actions.append(action)
    return actions


@st.composite
def random_records(draw: st.DrawFn) -> tuple[ReviewRecord, Policy]:
    content = draw(contents())
    people = draw(random_people())
    actions = draw(random_actions(content, POOL_IDS))
    record = ReviewRecord(
        submission_id=SID,
        department=draw(st.sampled_from(DEPARTMENTS)),
        author_id=draw(st.sampled_from(POOL_IDS)),
        content=content,
        actions=tuple(actions),
        people=people,
        stored_images=intact(content),
        publications=draw(signed_rows(content)),
    )
    return record, draw(st.sampled_from(POLICIES))


@SETTINGS
@given(random_records())
def test_gate_agrees_with_the_oracle_on_random_records(case: tuple[ReviewRecord, Policy]) -> None:
    record, policy = case
    verdict = evaluate(record, policy, now=NOW)
    assert verdict.passed == (not verdict.violations)
    if verdict.passed:
        assert oracle(record, policy, NOW)  # the gate never passes an invalid record
    assert verdict.passed == oracle(record, policy, NOW)


# --- valid records by construction, then one tampering ---


@st.composite
def valid_records(draw: st.DrawFn) -> tuple[ReviewRecord, Policy]:
    content = draw(contents(valid=True))
    policy = draw(st.sampled_from(POLICIES))
    department = draw(st.sampled_from(DEPARTMENTS))
    stages = [s for s in STAGE_ORDER]
    if department in policy.skip_second_review_departments and draw(st.booleans()):
        stages.remove(SECOND)
    if not (content.major_event or content.special_content) and draw(st.booleans()):
        stages.remove(PRINCIPAL)
    actors = {s: f"{s.value}-{draw(st.integers(0, 1))}" for s in stages}
    gaps = draw(st.lists(st.integers(1, 5), min_size=len(stages) + 1, max_size=len(stages) + 1))
    start = T0 + timedelta(minutes=20)
    times = [start + timedelta(minutes=sum(gaps[: i + 1])) for i in range(len(stages))]
    chain = [
        signed(content, s, Decision.APPROVE, actors[s], t)
        for s, t in zip(stages, times, strict=True)
    ]
    noise = draw(noise_actions(content))
    author = draw(st.sampled_from([actors[FIRST], "first-0", "first-1", "outside-author"]))
    if author != actors[FIRST] and author in actors.values():
        author = "outside-author"
    actions = draw(st.permutations([*chain, *noise]))
    record = ReviewRecord(
        SID,
        department,
        author,
        content,
        tuple(actions),
        dict(STAFF),
        stored_images=intact(content),
        publications=draw(signed_rows(content)),
    )
    return record, policy


@st.composite
def noise_actions(draw: st.DrawFn, content: Content) -> list[ReviewAction]:
    """Actions that must not change the verdict: other versions, other submissions, an
    earlier round closed by a return before the chain starts."""
    old = dataclasses.replace(content, body_html=content.body_html + " ")
    noise = []
    for _ in range(draw(st.integers(0, 4))):
        stage = draw(st.sampled_from(STAGE_ORDER))
        actor = f"{stage.value}-{draw(st.integers(0, 1))}"
        decision = draw(st.sampled_from(list(Decision)))
        at = T0 + timedelta(minutes=draw(st.integers(0, 60)))
        if draw(st.booleans()):
            noise.append(signed(old, stage, decision, actor, at))
        else:
            noise.append(signed(content, stage, decision, actor, at, submission="S-2"))
    if draw(st.booleans()):
        earlier = draw(st.lists(st.sampled_from(STAGE_ORDER), max_size=4))
        noise += [
            signed(content, s, Decision.APPROVE, f"{s.value}-0", T0 + timedelta(minutes=i))
            for i, s in enumerate(earlier)
        ]
        returner = draw(st.sampled_from(STAGE_ORDER))
        noise.append(
            signed(
                content,
                returner,
                Decision.RETURN,
                f"{returner.value}-1",
                T0 + timedelta(minutes=10),
            )
        )
    return noise


@SETTINGS
@given(valid_records())
def test_valid_by_construction_passes(case: tuple[ReviewRecord, Policy]) -> None:
    record, policy = case
    assert evaluate(record, policy, now=NOW).violations == ()
    assert oracle(record, policy, NOW)


@SETTINGS
@given(valid_records(), st.data())
def test_gate_agrees_with_the_oracle_on_tampered_valid_records(
    case: tuple[ReviewRecord, Policy], data: st.DataObject
) -> None:
    record, policy = case
    tampered = record
    for _ in range(data.draw(st.integers(1, 3))):
        tampered = data.draw(tamperings(tampered))
    verdict = evaluate(tampered, policy, now=NOW)
    if verdict.passed:
        assert oracle(tampered, policy, NOW)
    assert verdict.passed == oracle(tampered, policy, NOW)


@st.composite
def tamperings(draw: st.DrawFn, record: ReviewRecord) -> ReviewRecord:
    kind = draw(
        st.sampled_from(
            [
                *("content", "field", "drop", "swap_times", "people", "author", "extra"),
                *("scope", "images", "row"),
            ]
        )
    )
    if kind in ("scope", "images", "row"):
        return draw(outside_tamperings(record, kind))
    actions = list(record.actions)
    if not actions:
        return record
    i = draw(st.integers(0, len(actions) - 1))
    a = actions[i]
    if kind == "content":
        change = draw(
            st.sampled_from(
                [
                    {"body_html": record.content.body_html + " "},
                    {"image_hashes": ("f" * 64,)},
                    {
                        "channels": (
                            *record.content.channels,
                            ChannelRequest("微信公众号", date(2024, 5, 8)),
                        )
                    },
                    {
                        "channels": (
                            dataclasses.replace(
                                record.content.channels[0], publish_date=date(2024, 5, 9)
                            ),
                        )
                    },
                    {"major_event": not record.content.major_event},
                    {"special_content": not record.content.special_content},
                    {"repost_source": RepostSource("绿色青浦", "https://lsqp.example.cn/2", T0)},
                ]
            )
        )
        return dataclasses.replace(record, content=dataclasses.replace(record.content, **change))  # type: ignore[arg-type]
    if kind == "field":
        field = draw(
            st.sampled_from(["comment", "acted_at", "stage", "decision", "actor_id", "signature"])
        )
        value = {
            "comment": "改",
            "acted_at": a.acted_at - timedelta(seconds=1),
            "stage": draw(st.sampled_from(STAGE_ORDER)),
            "decision": draw(st.sampled_from(list(Decision))),
            "actor_id": draw(st.sampled_from(STAFF_IDS)),
            "signature": bytes(64),
        }[field]
        actions[i] = dataclasses.replace(a, **{field: value})  # type: ignore[arg-type]
    elif kind == "drop":
        del actions[i]
    elif kind == "swap_times":
        j = draw(st.integers(0, len(actions) - 1))
        b = actions[j]
        actions[i] = resign(a, acted_at=b.acted_at)
        actions[j] = resign(b, acted_at=a.acted_at)
    elif kind == "people":
        people = dict(record.people)
        people.pop(a.actor_id, None)
        return dataclasses.replace(record, people=people)
    elif kind == "author":
        return dataclasses.replace(record, author_id=a.actor_id)
    else:
        stage = draw(st.sampled_from(STAGE_ORDER))
        actor = draw(st.sampled_from(STAFF_IDS))
        decision = draw(st.sampled_from(list(Decision)))
        at = T0 + timedelta(minutes=draw(st.integers(0, 120)))
        actions.append(signed(record.content, stage, decision, actor, at))
    return dataclasses.replace(record, actions=tuple(actions))


def resign(action: ReviewAction, **changes: object) -> ReviewAction:
    changed = dataclasses.replace(action, **changes)  # type: ignore[arg-type]
    return sign_action(changed, KEYS.get(action.actor_id, OUTSIDER))


@st.composite
def outside_tamperings(draw: st.DrawFn, record: ReviewRecord, kind: str) -> ReviewRecord:
    """What surrounds the signed record: whose department a role covers, the stored image
    bytes, the rows about to be sent."""
    if kind == "scope":
        pid = draw(st.sampled_from(sorted(record.people)))
        person = record.people[pid]
        covers = draw(st.sampled_from(SCOPES))
        held_ = tuple(dataclasses.replace(r, departments=covers) for r in person.assignments)
        people = {**record.people, pid: dataclasses.replace(person, assignments=held_)}
        return dataclasses.replace(record, people=people)
    if kind == "images":
        stored = dict(record.stored_images or {})
        change = draw(st.sampled_from(["changed", "missing", "unchecked", "nothing"]))
        if change == "unchecked":
            return dataclasses.replace(record, stored_images=None)
        for sha in list(stored):
            stored[sha] = {"changed": "e" * 64, "missing": None, "nothing": sha}[change]
        return dataclasses.replace(record, stored_images=stored)
    channel = draw(st.sampled_from(["政府网站", "微信公众号"]))
    day = draw(st.sampled_from([date(2024, 5, 7), date(2024, 5, 8), date(2024, 5, 9)]))
    hour = draw(st.sampled_from([0, 9, 23]))
    origin = draw(st.sampled_from(["", "", "没有创建记录"]))
    row = PublicationRow("P9", channel, on_day(day, hour), origin)
    return dataclasses.replace(record, publications=(*record.publications, row))
