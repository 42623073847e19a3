"""Which stage waits: the same rule code as the verdict, step by step."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from gate import Policy, evaluate, next_stage
from gate.model import Decision, ReviewRecord, ReviewStage
from tests.gate.factory import (
    MAJOR_STAGES,
    NOW,
    OUTSIDER_KEY,
    STAGES,
    act,
    content,
    people,
    record,
)

FIRST, SECOND, FINAL, PRINCIPAL, USAGE, SIGN_OFF = MAJOR_STAGES
MAJOR = content(major_event=True)

CASES: list[tuple[str, Callable[[], ReviewRecord], ReviewStage | None]] = [
    ("nothing yet", lambda: record(actions=[]), FIRST),
    ("after 初审", lambda: record(actions=[act(FIRST, 10)]), SECOND),
    ("after 复审", lambda: record(actions=[act(FIRST, 10), act(SECOND, 20)]), FINAL),
    (
        "after 终审",
        lambda: record(actions=[act(s, i) for i, s in enumerate(STAGES[:3])]),
        USAGE,
    ),
    (
        "after 稿件用途",
        lambda: record(actions=[act(s, i) for i, s in enumerate(STAGES[:4])]),
        SIGN_OFF,
    ),
    (
        "after 终审 of a major event",
        lambda: record(MAJOR, [act(s, i, of=MAJOR) for i, s in enumerate(STAGES[:3])]),
        PRINCIPAL,
    ),
    ("complete", record, None),
    (
        "rejected",
        lambda: record(actions=[act(FIRST, 10), act(SECOND, 20, decision=Decision.REJECT)]),
        None,
    ),
    (
        "returned at 终审",
        lambda: record(
            actions=[act(FIRST, 10), act(SECOND, 20), act(FINAL, 30, decision=Decision.RETURN)]
        ),
        FIRST,
    ),
    (
        "approval of an old version",
        lambda: record(actions=[act(FIRST, 10, of=content(title="旧"))]),
        FIRST,
    ),
    (
        "approval signed with another key",
        lambda: record(actions=[act(FIRST, 10, key=OUTSIDER_KEY)]),
        FIRST,
    ),
    (
        "approval by someone without the role",
        lambda: record(actions=[act(FIRST, 10), act(SECOND, 20, actor="li")]),
        SECOND,
    ),
]


@pytest.mark.parametrize(("name", "build", "expected"), CASES, ids=[c[0] for c in CASES])
def test_next_stage(
    name: str, build: Callable[[], ReviewRecord], expected: ReviewStage | None
) -> None:
    assert next_stage(build(), now=NOW) is expected


def test_tampered_signature_makes_the_stage_wait_again() -> None:
    signed = act(SECOND, 20)
    tampered = dataclasses.replace(signed, comment="改过")
    assert next_stage(record(actions=[act(FIRST, 10), tampered]), now=NOW) is SECOND


def test_department_allowed_to_skip_goes_from_first_to_final() -> None:
    policy = Policy(skip_second_review_departments=frozenset({"综合科"}))
    staff = {pid: dataclasses.replace(p, department="综合科") for pid, p in people().items()}
    rec = dataclasses.replace(record(actions=[act(FIRST, 10)], staff=staff), department="综合科")
    assert next_stage(rec, policy, now=NOW) is FINAL


def test_complete_is_not_passed() -> None:
    """next_stage None only says nothing waits; the verdict still judges order and people."""
    rec = record(
        actions=[act(FIRST, 10), act(SECOND, 20), act(FINAL, 30), act(USAGE, 50), act(SIGN_OFF, 40)]
    )
    assert next_stage(rec, now=NOW) is None
    assert evaluate(rec, now=NOW).codes == ("signoff_not_last",)
