"""A repost (转载) of the office's own item after an upward platform adopted it: 签发 alone,
when the original's chain is complete and the repost differs from it only by the source and
the channel rows; otherwise every stage, and the gate says why the original's reviews cannot
stand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from gate import MISSING_STAGE_CODES, evaluate, next_stage
from gate.model import ChannelRequest, Decision, ReviewRecord, ReviewStage
from tests.gate.factory import (
    NOW,
    REPOST,
    STAGES,
    act,
    content,
    drop_stage,
    intact,
    record,
)

ORIGINAL = record()  # content(), approved by the four usual stages, submission S-1
REPOST_ROWS = (ChannelRequest("政府网站", date(2024, 5, 9), "转载"),)
SIGN_OFF = ReviewStage.SIGN_OFF


def repost(
    original: ReviewRecord = ORIGINAL, actions: tuple[str, ...] = ("sign_off",), **changes: object
) -> ReviewRecord:
    """The repost of `original` as submission S-2, with the given stages approved."""
    of = replace(original.content, repost_source=REPOST, channels=REPOST_ROWS, **changes)  # type: ignore[arg-type]
    stages = [s for s in STAGES if s.value in actions]
    signed = [act(s, 100 + 10 * i, of=of, submission="S-2") for i, s in enumerate(stages)]
    base = record(of, signed)
    return replace(base, submission_id="S-2", stored_images=intact(of), original=original)


def missing(rec: ReviewRecord) -> set[ReviewStage]:
    found = evaluate(rec, now=NOW).violations
    return {v.stage for v in found if v.code in MISSING_STAGE_CODES and v.stage is not None}


def test_only_the_sign_off_is_needed_and_it_passes() -> None:
    waiting = repost(actions=())
    assert next_stage(waiting, now=NOW) is SIGN_OFF
    assert missing(waiting) == {SIGN_OFF}
    assert "repost_original_unusable" not in evaluate(waiting, now=NOW).codes
    assert evaluate(repost(), now=NOW).passed


def test_without_the_sign_off_it_does_not_pass() -> None:
    verdict = evaluate(repost(actions=()), now=NOW)
    assert not verdict.passed and verdict.codes == ("stage_missing",)


@pytest.mark.parametrize(
    ("change", "label"),
    [
        ({"title": "改过的标题"}, "标题"),
        ({"body_html": "<p>改过的正文</p>"}, "正文"),
        ({"image_hashes": ("c" * 64,)}, "图片"),
        ({"digest": "新摘要"}, "摘要"),
        ({"byline": "另一署名"}, "署名"),
        ({"major_event": True}, "重大事件标记"),
    ],
)
def test_a_repost_changed_beyond_the_source_needs_every_stage(
    change: dict[str, object], label: str
) -> None:
    changed = repost(**change)
    verdict = evaluate(changed, now=NOW)
    assert not verdict.passed
    why = next(v for v in verdict.violations if v.code == "repost_original_unusable")
    assert label in why.message
    assert {ReviewStage.FIRST, ReviewStage.SECOND, ReviewStage.FINAL} <= missing(changed)
    assert next_stage(changed, now=NOW) is ReviewStage.FIRST


def test_a_changed_repost_with_every_stage_passes_like_any_repost() -> None:
    stages = ("first", "second", "final", "usage", "sign_off")
    assert evaluate(repost(actions=stages, title="改过的标题"), now=NOW).passed


@pytest.mark.parametrize(
    ("original", "reason"),
    [
        (drop_stage(ORIGINAL, ReviewStage.FINAL), "缺少终审"),
        (drop_stage(ORIGINAL, SIGN_OFF), "缺少签发"),
        (
            replace(
                ORIGINAL,
                actions=(
                    *ORIGINAL.actions,
                    act(ReviewStage.FINAL, 45, decision=Decision.REJECT, actor="zhao"),
                ),
            ),
            "驳回",
        ),
    ],
)
def test_an_original_without_a_complete_chain_lends_nothing(
    original: ReviewRecord, reason: str
) -> None:
    rec = repost(original)
    verdict = evaluate(rec, now=NOW)
    why = next(v for v in verdict.violations if v.code == "repost_original_unusable")
    assert "原稿的审核记录不完整" in why.message and reason in why.message, why.message
    assert next_stage(rec, now=NOW) is ReviewStage.FIRST


def test_without_a_source_it_is_no_repost() -> None:
    rec = repost()
    plain = replace(rec, content=replace(rec.content, repost_source=None))
    verdict = evaluate(plain, now=NOW)
    assert any(
        v.code == "repost_original_unusable" and "没有转载来源" in v.message
        for v in verdict.violations
    )


def test_the_source_must_still_be_qualified() -> None:
    """签发 checks the source's qualification (the seed): the shortcut does not skip that."""
    unknown = replace(REPOST, platform="某自媒体")
    rec = repost()
    rec = replace(rec, content=replace(rec.content, repost_source=unknown))
    assert "source_not_qualified" in evaluate(rec, now=NOW).codes


def test_the_sign_off_binds_the_repost_not_the_original() -> None:
    """The original's 签发 does not sign the repost: its fingerprint is another version's."""
    rec = repost(actions=())
    borrowed = replace(rec, actions=tuple(a for a in ORIGINAL.actions if a.stage is SIGN_OFF))
    assert missing(borrowed) == {SIGN_OFF}


def test_the_original_is_judged_with_its_own_people() -> None:
    """An original whose reviewer is unknown to its record has an action that does not count."""
    people = {k: v for k, v in ORIGINAL.people.items() if k != "wang"}
    rec = repost(replace(ORIGINAL, people=people))
    assert next_stage(rec, now=NOW) is ReviewStage.FIRST
    assert not evaluate(rec, now=NOW).passed


def test_an_original_of_another_content_lends_nothing() -> None:
    """The repost of `content()` handed another item's record as its original."""
    rec = replace(repost(), original=record(content(title="另一篇")))
    assert next_stage(rec, now=NOW) is ReviewStage.FIRST
    why = next(v for v in evaluate(rec, now=NOW).violations if v.code == "repost_original_unusable")
    assert "标题" in why.message
