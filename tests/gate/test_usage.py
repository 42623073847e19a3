"""稿件用途: 综合科 decides where an item goes before 签发. When it changes the 审批表 rows, the
approvals of the stages before it, made for the department's rows, count for the new rows (the
content is the same); 稿件用途 and 签发 must be of the rows that go out. Anything else changed
and nothing carries over."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from gate import MISSING_STAGE_CODES, Policy, evaluate, next_stage
from gate.model import ChannelRequest, Decision, ReviewRecord, ReviewStage
from tests.gate.factory import NOW, STAGES, act, content, intact, record

FIRST, SECOND, FINAL, USAGE, SIGN_OFF = STAGES
DEPARTMENTS_ROWS = content()  # 政府网站 and 微信公众号 on 2024-05-08
DECIDED = content(
    channels=(
        ChannelRequest("政府网站", date(2024, 5, 9)),
        ChannelRequest("学习强国", date(2024, 5, 8), "对上报送"),
    )
)


def decided(
    rows_of: object = DECIDED, later: tuple[ReviewStage, ...] = (USAGE, SIGN_OFF)
) -> ReviewRecord:
    """初审–终审 of the department's rows; 稿件用途 (and 签发) of `rows_of`."""
    earlier = [act(s, 10 * (i + 1), of=DEPARTMENTS_ROWS) for i, s in enumerate(STAGES[:3])]
    after = [act(s, 40 + 10 * i, of=rows_of) for i, s in enumerate(later)]  # type: ignore[arg-type]
    rec = record(rows_of, [*earlier, *after])  # type: ignore[arg-type]
    return replace(rec, reviewed_as=DEPARTMENTS_ROWS, stored_images=intact(rows_of))  # type: ignore[arg-type]


def missing(rec: ReviewRecord) -> list[ReviewStage]:
    found = evaluate(rec, now=NOW).violations
    return [v.stage for v in found if v.code in MISSING_STAGE_CODES and v.stage is not None]


def test_the_decided_rows_carry_the_earlier_reviews() -> None:
    assert evaluate(decided(), now=NOW).passed


def test_it_waits_for_usage_then_sign_off() -> None:
    assert next_stage(decided(later=()), now=NOW) is USAGE
    assert next_stage(decided(later=(USAGE,)), now=NOW) is SIGN_OFF
    assert missing(decided(later=(USAGE,))) == [SIGN_OFF]


def test_usage_and_sign_off_of_the_departments_rows_do_not_sign_the_decided_rows() -> None:
    """A 签发 of the department's rows is not a 签发 of the rows 综合科 decided."""
    rec = decided()
    stale = act(SIGN_OFF, 50, of=DEPARTMENTS_ROWS)
    rec = replace(rec, actions=(*rec.actions[:-1], stale))
    assert missing(rec) == [SIGN_OFF]


def test_without_usage_the_item_is_not_signed() -> None:
    rec = record()  # the department's rows, every stage but 稿件用途
    rec = replace(rec, actions=tuple(a for a in rec.actions if a.stage is not USAGE))
    assert missing(rec) == [USAGE]


def test_a_policy_without_usage_does_not_ask_for_it() -> None:
    rec = record()
    rec = replace(rec, actions=tuple(a for a in rec.actions if a.stage is not USAGE))
    assert evaluate(rec, Policy(usage_decision=False), now=NOW).passed


@pytest.mark.parametrize(
    ("change", "label"),
    [({"title": "改了标题"}, "标题"), ({"body_html": "<p>改了正文</p>"}, "正文")],
)
def test_usage_may_change_the_rows_only(change: dict[str, object], label: str) -> None:
    rec = decided(replace(DECIDED, **change))  # type: ignore[arg-type]
    verdict = evaluate(rec, now=NOW)
    assert not verdict.passed
    (why,) = [v.message for v in verdict.violations if v.code == "usage_rows_only"]
    assert label in why
    assert missing(rec) == [FIRST, SECOND, FINAL]


def test_a_return_at_usage_sends_it_back_to_the_department() -> None:
    rec = decided(later=())
    back = act(USAGE, 40, of=DECIDED, decision=Decision.RETURN, comment="请改为只对上报送")
    rec = replace(rec, actions=(*rec.actions, back))
    assert next_stage(rec, now=NOW) is FIRST


def test_the_earlier_reviews_of_another_submission_do_not_carry() -> None:
    rec = decided()
    foreign = tuple(
        replace(a, submission_id="S-9") if a.stage in (FIRST, SECOND, FINAL) else a
        for a in rec.actions
    )
    assert not evaluate(replace(rec, actions=foreign), now=NOW).passed


def test_usage_after_sign_off_is_out_of_order() -> None:
    rec = decided(later=(SIGN_OFF, USAGE))
    assert "signoff_not_last" in evaluate(rec, now=NOW).codes


def test_a_version_signed_off_before_usage_existed_goes_out_as_signed() -> None:
    rec = record()
    rec = replace(rec, actions=tuple(a for a in rec.actions if a.stage is not USAGE))
    assert not evaluate(rec, now=NOW).passed
    assert evaluate(replace(rec, usage_exempt=True), now=NOW).passed
