"""Records for the property tests: a valid review chain under a random policy, then perturbed.

`chains()` builds a record the rules let through by construction (checked by the oracle in
test_properties.py), under a random `spec` — every setting of the policy varied, the seed's
values among them. `perturbed()` changes it 0 to 3 times the ways records go wrong, and the
ways they stay right: content edited after signing, fields changed with or without a new
signature, actions at the edge of the clock skew, roles ending or starting at the very moment
of an action, departments covered or not, people, authors, stored images, rows to send, extra
and dropped actions, noise from other versions and submissions, and the policy itself changed.
About two fifths of what it makes still pass (bench/gate_properties.py reports the share).

Signatures and fingerprints are made with the oracle's own canonical bytes, never gate's.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from nacl.signing import SigningKey

from gate.model import (
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
from tests.gate.oracle import STAGES, Spec, signed_bytes, version_of

T0 = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=3)
SID = "S-1"
DEPARTMENTS = ("综合科", "政府网站运行科", "赵巷窗口")
ROLES = tuple(r.value for r in Role)
CHANNELS = ("政府网站", "微信公众号", "学习强国", "绿色青浦")
IMAGES = tuple(hashlib.sha256(bytes([i])).hexdigest() for i in range(4))
PEOPLE = tuple(f"p{i}" for i in range(10))
KEYS = {pid: SigningKey.generate() for pid in PEOPLE}
OUTSIDER = SigningKey.generate()
SCOPES: tuple[frozenset[str] | None, ...] = (
    None,
    frozenset(),
    *(frozenset({d}) for d in DEPARTMENTS),
    frozenset(DEPARTMENTS),
)
SOURCE_URLS = ("https://www.xuexi.cn/a/1.html", "http://lsqp.example.cn/n/2")
BAD_URLS = ("ftp://www.xuexi.cn/a", "https:///a", "https://www.xuexi.cn/a b", "www.xuexi.cn/a")
ODD_SOURCES = ("新华网", "某自媒体", " 学习强国 ", "")


@dataclass(frozen=True)
class Case:
    spec: dict[str, Any]
    record: ReviewRecord
    now: datetime = NOW
    moves: tuple[str, ...] = field(default=())

    def but(self, move: str, **changes: Any) -> Case:
        record = dataclasses.replace(self.record, **changes)
        return dataclasses.replace(self, record=record, moves=(*self.moves, move))


def sign(action: ReviewAction, key: SigningKey | None = None) -> ReviewAction:
    """`action` signed (over the oracle's bytes) by its actor's key, or by `key`."""
    if action.acted_at.utcoffset() is None:
        return action  # a naive time has no canonical form: it stays as it was signed
    key = key if key is not None else KEYS.get(action.actor_id, OUTSIDER)
    return dataclasses.replace(action, signature=key.sign(signed_bytes(action)).signature)


def act(
    content: Content, stage: str, actor: str, at: datetime, decision: str = "approve", **kw: Any
) -> ReviewAction:
    action = ReviewAction(
        kw.pop("submission", SID),
        version_of(content),
        ReviewStage(stage),
        Decision(decision),
        actor,
        at,
        b"",
        **kw,
    )
    return sign(action)


def intact(content: Content) -> dict[str, str | None]:
    return {sha: sha for sha in (*content.image_hashes, *filter(None, [content.cover_hash]))}


def on_day(day: date, zone: ZoneInfo, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


# --- the policy ---


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    """The policy's plain settings, each left at the seed's default or set (often the same)."""
    spec: dict[str, Any] = {}
    if draw(st.booleans()):
        stages = draw(st.lists(st.sampled_from(STAGES), max_size=3, unique=True))
        spec["stage_roles"] = {
            s: sorted(draw(st.sets(st.sampled_from(ROLES), min_size=1, max_size=2))) for s in stages
        }
    for flag in ("principal_for_major_event", "principal_for_special_content", "usage_decision"):
        if draw(st.booleans()):
            spec[flag] = draw(st.booleans())
    if draw(st.booleans()):
        spec["qualified_sources"] = draw(
            st.sampled_from([["学习强国"], ["绿色青浦", "新华网"], [], ["学习强国", "绿色青浦"]])
        )
    if draw(st.booleans()):
        spec["skip_second_review_departments"] = draw(
            st.lists(st.sampled_from(DEPARTMENTS), max_size=2, unique=True)
        )
    if draw(st.booleans()):
        spec["department_scoped_stages"] = draw(
            st.lists(st.sampled_from(STAGES), max_size=4, unique=True)
        )
    if draw(st.booleans()):
        spec["timezone"] = draw(st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York"]))
    if draw(st.booleans()):
        spec["clock_skew_seconds"] = draw(st.sampled_from([0, 1, 60, 300, 3600]))
    return spec


# --- valid chains ---


@st.composite
def contents(draw: st.DrawFn, rules: Spec) -> Content:
    names = draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True))
    rows = tuple(
        ChannelRequest(
            name,
            T0.date() + timedelta(days=draw(st.integers(1, 4))),
            draw(st.sampled_from(["", "头条"])),
        )
        for name in names
    )
    source = None
    if rules.sources and draw(st.booleans()):
        source = RepostSource(
            draw(st.sampled_from(sorted(rules.sources))),
            draw(st.sampled_from(SOURCE_URLS)),
            T0 - timedelta(days=1, microseconds=draw(st.integers(0, 999_999))),
        )
    return Content(
        title=draw(st.sampled_from(["区政务服务办公室召开推进会", "通知"])),
        body_html=draw(st.sampled_from(["<p>正文</p>", "<p>一网通办</p><p>二</p>"])),
        image_hashes=tuple(draw(st.lists(st.sampled_from(IMAGES), max_size=3, unique=True))),
        cover_hash=draw(st.sampled_from([None, *IMAGES])),
        digest=draw(st.sampled_from(["", "摘要"])),
        byline=draw(st.sampled_from(["", "区政务服务办公室"])),
        major_event=draw(st.booleans()),
        special_content=draw(st.booleans()),
        channels=rows,
        repost_source=source,
    )


@st.composite
def chains(draw: st.DrawFn) -> Case:
    spec = draw(specs())
    rules = Spec(spec)
    department = draw(st.sampled_from(DEPARTMENTS))
    content = draw(contents(rules))
    stages = set(rules.required(content, department))
    stages |= set(draw(st.lists(st.sampled_from(["second", "principal", "usage"]), max_size=2)))
    stages_in_order = [s for s in STAGES if s in stages]
    actors = draw(st.permutations(PEOPLE))[: len(stages_in_order)]
    others = [d for d in DEPARTMENTS if d != department]
    start = T0 + timedelta(minutes=30)
    people: dict[str, Person] = {}
    actions: list[ReviewAction] = []
    at = start
    for stage, pid in zip(stages_in_order, actors, strict=True):
        at += timedelta(minutes=draw(st.integers(1, 20)), microseconds=draw(st.integers(0, 9)))
        role = draw(st.sampled_from(sorted(rules.stage_roles[stage])))
        home = draw(st.sampled_from([department, *others, None]))
        if stage in rules.scoped:
            covers = (
                draw(st.sampled_from([frozenset({department}), frozenset(DEPARTMENTS)]))
                if home != department or draw(st.booleans())
                else None
            )
        else:
            covers = draw(st.sampled_from(SCOPES))
        since = T0 - timedelta(minutes=draw(st.integers(0, 600)))
        until = draw(st.sampled_from([None, NOW + timedelta(days=1), at + timedelta(seconds=1)]))
        held = [RoleAssignment(Role(role), since, until, covers)]
        if draw(st.booleans()):  # a role besides, which this stage does not need
            held.append(RoleAssignment(Role(draw(st.sampled_from(ROLES))), since))
        people[pid] = Person(pid, f"审核人{pid}", KEYS[pid].verify_key.encode(), tuple(held), home)
        actions.append(act(content, stage, pid, at, comment=draw(st.sampled_from(["", "同意"]))))
    if draw(st.booleans()):  # an earlier round, closed by a return before this one started
        actions += draw(earlier_round(content, stages_in_order, actors, people))
    actions += draw(noise(content, sorted(people)))
    idle = [p for p in PEOPLE if p not in actors]
    author = draw(st.sampled_from([actors[0], "author", *idle]))
    rows = tuple(
        PublicationRow(
            f"P{i}",
            c.channel,
            on_day(c.publish_date, rules.zone, draw(st.integers(0, 23)), draw(st.integers(0, 59))),
        )
        for i, c in enumerate(content.channels)
        if draw(st.booleans())
    )
    record = ReviewRecord(
        submission_id=SID,
        department=department,
        author_id=author,
        content=content,
        actions=tuple(draw(st.permutations(actions))),
        people=people,
        stored_images=intact(content),
        publications=rows,
    )
    return Case(spec, record)


@st.composite
def earlier_round(
    draw: st.DrawFn, content: Content, stages: list[str], actors: list[str], people: dict
) -> list[ReviewAction]:
    """Approvals of some stages by their own reviewers, then a return by one of them: all before
    the chain, all sound, and none of it counting any more."""
    done = draw(st.integers(0, len(stages) - 1))
    at = T0 + timedelta(minutes=1)
    made = []
    for stage, pid in list(zip(stages, actors, strict=True))[: done + 1]:
        if not holds_at(people[pid], at):
            return []
        made.append(act(content, stage, pid, at))
        at += timedelta(minutes=1)
    stage, pid = stages[done], actors[done]
    made[-1] = act(content, stage, pid, at, "return", comment="请修改")
    return made


def holds_at(person: Person, at: datetime) -> bool:
    held = person.assignments[0]
    return held.valid_from <= at and (held.valid_until is None or at < held.valid_until)


@st.composite
def noise(draw: st.DrawFn, content: Content, pids: list[str]) -> list[ReviewAction]:
    """Actions that must not change anything: another version's, another submission's."""
    other = dataclasses.replace(content, body_html=content.body_html + "<p>旧稿</p>")
    made = []
    for _ in range(draw(st.integers(0, 2))):
        stage = draw(st.sampled_from(STAGES))
        decision = draw(st.sampled_from(["approve", "return", "reject"]))
        actor = draw(st.sampled_from([*pids, "p9"]))
        at = T0 + timedelta(minutes=draw(st.integers(0, 300)))
        if draw(st.booleans()):
            made.append(act(other, stage, actor, at, decision))
        else:
            made.append(act(content, stage, actor, at, decision, submission="S-2"))
    return made


# --- perturbations ---

Move = Callable[[st.DrawFn, Case], Case]


def _index(draw: st.DrawFn, case: Case) -> int | None:
    actions = case.record.actions
    return draw(st.integers(0, len(actions) - 1)) if actions else None


def _latest(case: Case) -> int | None:
    mine = [
        i
        for i, a in enumerate(case.record.actions)
        if a.submission_id == SID
        and a.fingerprint == _version(case)
        and a.acted_at.utcoffset() is not None
    ]
    return max(mine, key=lambda i: case.record.actions[i].acted_at) if mine else None


def _version(case: Case) -> str | None:
    try:
        return version_of(case.record.content)
    except ValueError:
        return None


def _with_action(case: Case, move: str, i: int, action: ReviewAction) -> Case:
    actions = list(case.record.actions)
    actions[i] = action
    return case.but(move, actions=tuple(actions))


def edit_content(draw: st.DrawFn, case: Case) -> Case:
    """Change what is published after it was signed (its images stored as they now are)."""
    c = case.record.content
    rows = c.channels
    source = c.repost_source
    edits: dict[str, Any] = {
        "title": {"title": c.title + "！"},
        "body": {"body_html": c.body_html.replace("正文", "正文。")},
        "images_order": {"image_hashes": tuple(reversed(c.image_hashes))},
        "image_added": {"image_hashes": (*c.image_hashes, IMAGES[-1])},
        "image_dropped": {"image_hashes": c.image_hashes[1:]},
        "cover": {"cover_hash": IMAGES[0] if c.cover_hash != IMAGES[0] else None},
        "digest": {"digest": c.digest + "。"},
        "byline": {"byline": c.byline + "供稿"},
        "major": {"major_event": not c.major_event},
        "special": {"special_content": not c.special_content},
        "source": {
            "repost_source": None
            if source is not None
            else RepostSource("学习强国", SOURCE_URLS[0], T0 - timedelta(days=1))
        },
    }
    if rows:
        edits["date"] = {
            "channels": (
                dataclasses.replace(rows[0], publish_date=rows[0].publish_date + timedelta(1)),
                *rows[1:],
            )
        }
        edits["remark"] = {"channels": (dataclasses.replace(rows[0], remark="次条"), *rows[1:])}
        edits["channel_added"] = {
            "channels": (*rows, ChannelRequest("随申办旗舰店", rows[0].publish_date))
        }
        edits["channel_dropped"] = {"channels": rows[1:]}
        edits["rows_reordered"] = {"channels": tuple(reversed(rows))}
    if source is not None:
        edits["source_url"] = {"repost_source": dataclasses.replace(source, url=SOURCE_URLS[1])}
        edits["source_time"] = {
            "repost_source": dataclasses.replace(
                source, published_at=source.published_at + timedelta(microseconds=1)
            )
        }
    name = draw(st.sampled_from(sorted(edits)))
    edited = dataclasses.replace(c, **edits[name])
    return case.but(f"content:{name}", content=edited, stored_images=intact(edited))


def unsigned_change(draw: st.DrawFn, case: Case) -> Case:
    """One field of an action changed without a new signature."""
    i = _index(draw, case)
    if i is None:
        return case
    a = case.record.actions[i]
    name = draw(
        st.sampled_from(
            ["comment", "acted_at", "stage", "decision", "actor_id", "signature", "submission"]
        )
    )
    value: Any = {
        "comment": a.comment + "改",
        "acted_at": a.acted_at + timedelta(microseconds=1),
        "stage": ReviewStage(draw(st.sampled_from(STAGES))),
        "decision": Decision(draw(st.sampled_from(["approve", "return", "reject"]))),
        "actor_id": draw(st.sampled_from(PEOPLE)),
        "signature": bytes(64),
        "submission": "S-2",
    }[name]
    field_name = "submission_id" if name == "submission" else name
    return _with_action(case, f"unsigned:{name}", i, dataclasses.replace(a, **{field_name: value}))


def resigned_change(draw: st.DrawFn, case: Case) -> Case:
    """One field of an action changed and signed again by whoever it now names."""
    i = _index(draw, case)
    if i is None:
        return case
    a = case.record.actions[i]
    name = draw(st.sampled_from(["actor_id", "acted_at", "stage", "decision", "swap_times"]))
    if name == "swap_times":
        j = draw(st.integers(0, len(case.record.actions) - 1))
        b = case.record.actions[j]
        actions = list(case.record.actions)
        actions[i] = sign(dataclasses.replace(a, acted_at=b.acted_at))
        actions[j] = sign(dataclasses.replace(b, acted_at=a.acted_at))
        return case.but("resigned:swap_times", actions=tuple(actions))
    value: Any = {
        "actor_id": draw(st.sampled_from(PEOPLE)),
        "acted_at": a.acted_at + timedelta(minutes=draw(st.integers(-30, 30))),
        "stage": ReviewStage(draw(st.sampled_from(STAGES))),
        "decision": Decision(draw(st.sampled_from(["approve", "return", "reject"]))),
    }[name]
    return _with_action(case, f"resigned:{name}", i, sign(dataclasses.replace(a, **{name: value})))


def clock_edge(draw: st.DrawFn, case: Case) -> Case:
    """The latest action of this version moved to the edge of now + the clock skew."""
    i = _latest(case)
    if i is None:
        return case
    a = case.record.actions[i]
    step = draw(
        st.sampled_from(
            [
                timedelta(seconds=-60),
                timedelta(microseconds=-1),
                timedelta(0),
                timedelta(microseconds=1),
                timedelta(seconds=2),
                timedelta(hours=2),
            ]
        )
    )
    at = case.now + timedelta(seconds=Spec(case.spec).skew) + step
    person = case.record.people.get(a.actor_id)
    people = case.record.people
    if person is not None:  # the role still held then: only the clock is being tried
        held = tuple(dataclasses.replace(h, valid_until=None) for h in person.assignments)
        people = {**people, a.actor_id: dataclasses.replace(person, assignments=held)}
    moved = list(case.record.actions)
    moved[i] = sign(dataclasses.replace(a, acted_at=at))
    return case.but(f"clock:{step}", actions=tuple(moved), people=people)


def role_window(draw: st.DrawFn, case: Case) -> Case:
    """An actor's role made to start or end at (or a microsecond off) the moment they acted."""
    i = _index(draw, case)
    if i is None:
        return case
    a = case.record.actions[i]
    person = case.record.people.get(a.actor_id)
    if person is None or a.acted_at.utcoffset() is None:
        # a window drawn from a time an earlier change made naive: roles come from the
        # database, whose times are always aware, so the gate never meets such a window
        return case
    tick = timedelta(microseconds=1)
    name, change = draw(
        st.sampled_from(
            [
                ("until=at", {"valid_until": a.acted_at}),
                ("until=at+1us", {"valid_until": a.acted_at + tick}),
                ("until=at-1us", {"valid_until": a.acted_at - tick}),
                ("from=at", {"valid_from": a.acted_at}),
                ("from=at+1us", {"valid_from": a.acted_at + tick}),
                ("from=at-1us", {"valid_from": a.acted_at - tick}),
            ]
        )
    )
    held = (dataclasses.replace(person.assignments[0], **change), *person.assignments[1:])
    people = {**case.record.people, a.actor_id: dataclasses.replace(person, assignments=held)}
    return case.but(f"window:{name}", people=people)


def scope(draw: st.DrawFn, case: Case) -> Case:
    """Which departments a person's role covers, or which is their own, changed."""
    pids = sorted(case.record.people)
    if not pids:
        return case
    pid = draw(st.sampled_from(pids))
    person = case.record.people[pid]
    if draw(st.booleans()):
        home = draw(st.sampled_from([None, *DEPARTMENTS]))
        changed = dataclasses.replace(person, department=home)
    else:
        covers = draw(st.sampled_from(SCOPES))
        held = (dataclasses.replace(person.assignments[0], departments=covers),)
        changed = dataclasses.replace(person, assignments=held + person.assignments[1:])
    return case.but("scope", people={**case.record.people, pid: changed})


def people_change(draw: st.DrawFn, case: Case) -> Case:
    """A person gone from the list, or known by another key."""
    pids = sorted(case.record.people)
    if not pids:
        return case
    pid = draw(st.sampled_from(pids))
    people = dict(case.record.people)
    if draw(st.booleans()):
        del people[pid]
        return case.but("person:gone", people=people)
    people[pid] = dataclasses.replace(people[pid], public_key=OUTSIDER.verify_key.encode())
    return case.but("person:key", people=people)


def author(draw: st.DrawFn, case: Case) -> Case:
    who = draw(st.sampled_from(sorted({*case.record.people, "author"})))
    return case.but("author", author_id=who)


def images(draw: st.DrawFn, case: Case) -> Case:
    stored = dict(case.record.stored_images or {})
    kind = draw(st.sampled_from(["changed", "missing", "unchecked", "extra", "dropped"]))
    if kind == "unchecked":
        return case.but("images:unchecked", stored_images=None)
    if kind == "extra":
        stored["f" * 64] = "f" * 64
    elif stored:
        sha = draw(st.sampled_from(sorted(stored)))
        if kind == "dropped":
            del stored[sha]
        else:
            stored[sha] = None if kind == "missing" else "e" * 64
    return case.but(f"images:{kind}", stored_images=stored)


def row(draw: st.DrawFn, case: Case) -> Case:
    """One more row to send: a signed channel or not, on the signed day's edges or beside it."""
    content = case.record.content
    zone = Spec(case.spec).zone
    name = draw(st.sampled_from([*(c.channel for c in content.channels), "随申办旗舰店"]))
    signed = {c.channel: c.publish_date for c in content.channels}
    day = signed.get(name, T0.date()) + timedelta(days=draw(st.sampled_from([0, 0, -1, 1])))
    local = datetime(day.year, day.month, day.day, tzinfo=zone)
    at = draw(
        st.sampled_from(
            [
                local,
                local + timedelta(hours=9),
                local + timedelta(days=1) - timedelta(microseconds=1),
            ]
        )
    ).astimezone(UTC)
    origin = draw(st.sampled_from(["", "", "", "没有签发时创建的记录"]))
    added = PublicationRow("P9", name, at, origin)
    return case.but("row", publications=(*case.record.publications, added))


def extra(draw: st.DrawFn, case: Case) -> Case:
    """One more action on this version, by anyone, at any time."""
    stage = draw(st.sampled_from(STAGES))
    decision = draw(st.sampled_from(["approve", "approve", "return", "reject"]))
    actor = draw(st.sampled_from(PEOPLE))
    at = T0 + timedelta(minutes=draw(st.integers(0, 240)))
    made = act(case.record.content, stage, actor, at, decision)
    return case.but(f"extra:{stage}:{decision}", actions=(*case.record.actions, made))


def drop(draw: st.DrawFn, case: Case) -> Case:
    i = _index(draw, case)
    if i is None:
        return case
    actions = case.record.actions[:i] + case.record.actions[i + 1 :]
    return case.but("drop", actions=actions)


def department(draw: st.DrawFn, case: Case) -> Case:
    return case.but("department", department=draw(st.sampled_from(DEPARTMENTS)))


def more_noise(draw: st.DrawFn, case: Case) -> Case:
    made = draw(noise(case.record.content, sorted(case.record.people)))
    return case.but("noise", actions=(*case.record.actions, *made))


def naive(draw: st.DrawFn, case: Case) -> Case:
    i = _index(draw, case)
    if i is None:
        return case
    a = case.record.actions[i]
    return _with_action(
        case, "naive", i, dataclasses.replace(a, acted_at=a.acted_at.replace(tzinfo=None))
    )


def repost_source(draw: st.DrawFn, case: Case) -> Case:
    """A repost source of any platform and URL, signed as it is (the signatures follow)."""
    source = RepostSource(
        draw(st.sampled_from([*ODD_SOURCES, "学习强国", "绿色青浦", "政务公共信息平台"])),
        draw(st.sampled_from([*SOURCE_URLS, *BAD_URLS])),
        T0 - timedelta(days=1),
    )
    content = dataclasses.replace(case.record.content, repost_source=source)
    version = version_of(content)
    old = _version(case)
    actions = tuple(
        sign(dataclasses.replace(a, fingerprint=version)) if a.fingerprint == old else a
        for a in case.record.actions
    )
    return case.but(f"source:{source.platform}:{source.url}", content=content, actions=actions)


def policy(draw: st.DrawFn, case: Case) -> Case:
    """One setting of the policy changed after the record was made."""
    spec = dict(case.spec)
    key = draw(
        st.sampled_from(
            [
                "principal_for_major_event",
                "principal_for_special_content",
                "usage_decision",
                "skip_second_review_departments",
                "department_scoped_stages",
                "stage_roles",
                "qualified_sources",
                "clock_skew_seconds",
                "timezone",
            ]
        )
    )
    value: Any
    if key.startswith(("principal", "usage")):
        value = not spec.get(key, True)
    elif key == "skip_second_review_departments":
        value = draw(st.lists(st.sampled_from(DEPARTMENTS), max_size=2, unique=True))
    elif key == "department_scoped_stages":
        value = draw(st.lists(st.sampled_from(STAGES), max_size=4, unique=True))
    elif key == "stage_roles":
        stage = draw(st.sampled_from(STAGES))
        roles = draw(st.sets(st.sampled_from(ROLES), min_size=1, max_size=3))
        value = {**spec.get("stage_roles", {}), stage: sorted(roles)}
    elif key == "qualified_sources":
        value = draw(st.sampled_from([["学习强国"], ["绿色青浦"], []]))
    elif key == "clock_skew_seconds":
        value = draw(st.sampled_from([0, 1, 300, 7200]))
    else:
        value = draw(st.sampled_from(["Asia/Shanghai", "UTC", "Pacific/Kiritimati"]))
    spec[key] = value
    return dataclasses.replace(case, spec=spec, moves=(*case.moves, f"policy:{key}"))


MOVES: tuple[Move, ...] = (
    edit_content,
    unsigned_change,
    resigned_change,
    clock_edge,
    role_window,
    scope,
    people_change,
    author,
    images,
    row,
    extra,
    drop,
    department,
    more_noise,
    naive,
    repost_source,
    policy,
)


@st.composite
def perturbed(draw: st.DrawFn) -> Case:
    """A valid chain changed 0 to 3 times (once most often)."""
    case = draw(chains())
    for _ in range(draw(st.sampled_from([1, 0, 1, 2, 1, 0, 2, 3]))):
        move = draw(st.sampled_from(MOVES))
        case = move(draw, case)
    return case
