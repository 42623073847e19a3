"""A second reading of the review rules, written from the seed and the policy's plain settings.

Nothing here comes from gate/ but the record's data classes: the oracle has its own canonical
JSON for the version fingerprint and for the bytes a reviewer signs, the seed's stage roles and
qualified sources as literals, and it reads each policy setting from the plain `spec` the test
built its `Policy` from (`Policy.from_dict(spec)`), never from the `Policy`. So a bug in the
gate's fingerprint, signature, role or policy code makes the two disagree.

What it knows, from shared/seeds and docs/domain.md:
- a version is approved by 初审, 复审, 终审, 主要领导审定 (major events / special content, when
  the policy asks), 稿件用途 (when the policy asks) and 签发, each once, in that order, by
  different people, each holding a role of that stage at the moment (inside [from, until)),
  covering the item's department for the stages the policy scopes; the author does 初审 at most;
- every action on this version must be sound (known person, good signature, role, not after
  now + clock skew), needed or not; a 退回 voids the approvals before it, a 驳回 ends the version;
- every image is stored with bytes that still hash to its name; a repost names a qualified
  platform and an http(s) URL; every row to send is a signed channel on its signed day in the
  policy's time zone and has no problem with where it came from.
Records with 改期, 稿件用途's row changes or a repost of the office's own item are the table
tests' business: the oracle refuses to judge them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from gate.model import Content, Person, ReviewAction, ReviewRecord

STAGES = ("first", "second", "final", "principal", "usage", "sign_off")
# The seed's reviewers of each stage (shared/seeds: 供稿人 初审, 科室负责人 复审, 分管领导 终审,
# 主要领导 for major events, 综合科 decides the use, 宣传分管领导 签发).
SEED_STAGE_ROLES: dict[str, frozenset[str]] = {
    "first": frozenset({"contributor"}),
    "second": frozenset({"section_head"}),
    "final": frozenset({"leader_in_charge"}),
    "principal": frozenset({"principal_leader"}),
    "usage": frozenset({"general_office"}),
    "sign_off": frozenset({"publicity_leader"}),
}
SEED_SOURCES = frozenset({"学习强国", "绿色青浦", "政务公共信息平台"})
SEED_SCOPED = frozenset({"first", "second", "final"})
SEED_SKEW_SECONDS = 300
SEED_TIMEZONE = "Asia/Shanghai"


class Spec:
    """The policy's plain settings, read the way docs/domain.md describes each one."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.stage_roles = {
            **SEED_STAGE_ROLES,
            **{k: frozenset(v) for k, v in spec.get("stage_roles", {}).items()},
        }
        self.principal_major = spec.get("principal_for_major_event", True)
        self.principal_special = spec.get("principal_for_special_content", True)
        self.usage = spec.get("usage_decision", True)
        self.sources = frozenset(s.strip() for s in spec.get("qualified_sources", SEED_SOURCES))
        self.skip_second = frozenset(spec.get("skip_second_review_departments", ()))
        self.scoped = frozenset(spec.get("department_scoped_stages", SEED_SCOPED))
        self.zone = ZoneInfo(spec.get("timezone", SEED_TIMEZONE))
        self.skew = spec.get("clock_skew_seconds", SEED_SKEW_SECONDS)

    def required(self, content: Content, department: str) -> list[str]:
        needed = ["first", "final", "sign_off"]
        if department not in self.skip_second:
            needed.append("second")
        if (content.major_event and self.principal_major) or (
            content.special_content and self.principal_special
        ):
            needed.append("principal")
        if self.usage:
            needed.append("usage")
        return sorted(needed, key=STAGES.index)


# --- canonical bytes, written from the format's description ---


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def utc_text(moment: datetime) -> str:
    """An aware moment as UTC with microseconds, e.g. 2024-05-06T01:00:00.000000+00:00."""
    if moment.utcoffset() is None:
        raise ValueError("naive")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def version_of(content: Content) -> str:
    """The version fingerprint: SHA-256 over everything that will be published."""
    source = content.repost_source
    document = {
        "format": "sanshen.version.v1",
        "title": content.title,
        "body_html": content.body_html,
        "image_hashes": list(content.image_hashes),
        "cover_hash": content.cover_hash,
        "digest": content.digest,
        "byline": content.byline,
        "major_event": content.major_event,
        "special_content": content.special_content,
        "channels": [
            {"channel": row.channel, "publish_date": str(row.publish_date), "remark": row.remark}
            for row in content.channels
        ],
        "repost_source": None
        if source is None
        else {
            "platform": source.platform,
            "url": source.url,
            "published_at": utc_text(source.published_at),
        },
    }
    return hashlib.sha256(_json(document)).hexdigest()


def signed_bytes(action: ReviewAction) -> bytes:
    """What a reviewer's key signs: every field of the action but its signature and row id."""
    return _json(
        {
            "format": "sanshen.review.v1",
            "submission": action.submission_id,
            "fingerprint": action.fingerprint,
            "stage": str(action.stage),
            "decision": str(action.decision),
            "acted_at": utc_text(action.acted_at),
            "comment": action.comment,
        }
    )


def sound_signature(action: ReviewAction, person: Person) -> bool:
    try:
        VerifyKey(person.public_key).verify(signed_bytes(action), action.signature)
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


# --- the verdict ---


def passes(record: ReviewRecord, spec: Mapping[str, Any], now: datetime) -> bool:
    """Whether the rules let `record` go out under the policy `spec` at `now`."""
    if record.amendments or record.reviewed_as is not None or record.original is not None:
        raise NotImplementedError("the oracle judges plain records only")
    rules = Spec(spec)
    content = record.content
    return (
        bool(content.channels)
        and _source_ok(content, rules)
        and _images_ok(record)
        and _rows_ok(record, rules)
        and _chain_ok(record, rules, now)
    )


def _source_ok(content: Content, rules: Spec) -> bool:
    source = content.repost_source
    if source is None:
        return True
    if source.platform.strip() not in rules.sources or source.published_at.utcoffset() is None:
        return False
    url = source.url.strip()
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return (
        scheme.lower() in ("http", "https") and bool(host) and not any(ch.isspace() for ch in url)
    )


def _images_ok(record: ReviewRecord) -> bool:
    content = record.content
    named = [*content.image_hashes, *([content.cover_hash] if content.cover_hash else [])]
    if not named:
        return True
    stored = record.stored_images
    return stored is not None and all(stored.get(sha, "missing") == sha for sha in named)


def _rows_ok(record: ReviewRecord, rules: Spec) -> bool:
    signed = {row.channel: row.publish_date for row in record.content.channels}
    for row in record.publications:
        if row.origin_problem or row.channel not in signed:
            return False
        if row.scheduled_at.utcoffset() is None:
            return False
        if row.scheduled_at.astimezone(rules.zone).date() != signed[row.channel]:
            return False
    return True


def _holds(person: Person, roles: frozenset[str], at: datetime, department: str | None) -> bool:
    """A role of `roles` held at `at` (from inclusive, until exclusive), covering `department`
    when it is given: the assignment's own list of departments, else the person's own."""
    for held in person.assignments:
        if str(held.role) not in roles or at < held.valid_from:
            continue
        if held.valid_until is not None and at >= held.valid_until:
            continue
        if department is None:
            return True
        covered = held.departments if held.departments is not None else {person.department}
        if department in covered:
            return True
    return False


def _chain_ok(record: ReviewRecord, rules: Spec, now: datetime) -> bool:
    try:
        version = version_of(record.content)
    except ValueError:
        return False  # a naive time has no canonical form: nothing can be signed for it
    mine = [
        a
        for a in record.actions
        if a.submission_id == record.submission_id and a.fingerprint == version
    ]
    if any(a.acted_at.utcoffset() is None for a in mine):
        return False
    limit = now + timedelta(seconds=rules.skew)
    for action in mine:
        person = record.people.get(action.actor_id)
        if person is None or not sound_signature(action, person):
            return False
        stage = str(action.stage)
        department = record.department if stage in rules.scoped else None
        if not _holds(person, rules.stage_roles[stage], action.acted_at, department):
            return False
        if action.acted_at > limit:
            return False
    mine.sort(key=lambda a: a.acted_at)
    if any(str(a.decision) == "reject" for a in mine):
        return False
    approved: list[ReviewAction] = []
    for action in mine:
        if str(action.decision) == "return":
            approved = []
        elif str(action.decision) == "approve":
            approved.append(action)
    stages = [str(a.stage) for a in approved]
    people = [a.actor_id for a in approved]
    times = [a.acted_at for a in approved]
    return (
        len(set(stages)) == len(stages)
        and set(rules.required(record.content, record.department)) <= set(stages)
        and stages == sorted(stages, key=STAGES.index)
        and all(earlier < later for earlier, later in itertools.pairwise(times))
        and len(set(people)) == len(people)
        and all(a.actor_id != record.author_id for a in approved if str(a.stage) != "first")
    )
