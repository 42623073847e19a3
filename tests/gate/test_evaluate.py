"""Each rule against a record that breaks exactly that rule; valid records pass."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pytest

from gate import DEFAULT_POLICY, MISSING_STAGE_CODES, VIOLATION_MESSAGES, Policy, evaluate
from gate.model import ChannelRequest, Decision, ReviewRecord, ReviewStage, Role, RoleAssignment
from gate.rules import ACTION_CHECKS, RULES, ReviewContext, violations
from gate.verdict import Verdict
from tests.gate.factory import (
    MAJOR_STAGES,
    NOW,
    OUTSIDER_KEY,
    REPOST,
    SINCE,
    STAGES,
    T0,
    act,
    add_actions,
    amend,
    approvals,
    content,
    drop_stage,
    people,
    person,
    record,
    replace_action,
    row,
    with_content,
)

FIRST, SECOND, FINAL, PRINCIPAL, USAGE, SIGN_OFF = MAJOR_STAGES
MAJOR = content(major_event=True)
SPECIAL = content(special_content=True)
REPOSTED = content(repost_source=REPOST)
NO_USAGE = Policy(usage_decision=False)
SKIPPING = Policy(skip_second_review_departments=frozenset({"综合科"}))
SIGNED_DAY = date(2024, 5, 8)  # the date of both rows of content()
WEBSITE = "政府网站"


def _in(department: str) -> dict[str, object]:
    """Everyone on the staff, at home in `department`."""
    return {pid: replace(p, department=department) for pid, p in people().items()}


def _holding(pid: str, role: Role, departments: frozenset[str] | None, **dates: object) -> object:
    """`pid` holding only `role`, covering `departments` (None: their own)."""
    held = RoleAssignment(role, dates.pop("since", SINCE), departments=departments, **dates)  # type: ignore[arg-type]
    return replace(person(pid), assignments=(held,))


def _staff(**changed: object) -> ReviewRecord:
    return record(staff=people(**changed))  # type: ignore[arg-type]


def _with(**fields: object) -> Callable[[], ReviewRecord]:
    return lambda: replace(record(), **fields)  # type: ignore[arg-type]


def _amended(*amendments: object, rows: tuple[object, ...] = ()) -> Callable[[], ReviewRecord]:
    return _with(amendments=amendments, publications=rows)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], ReviewRecord]
    codes: tuple[str, ...] = ()  # exactly what the gate must report, in any order
    policy: Policy = DEFAULT_POLICY
    now: datetime = NOW

    def verdict(self) -> Verdict:
        return evaluate(self.build(), self.policy, now=self.now)


def _edit(action_stage: ReviewStage, **changes: object) -> ReviewRecord:
    """The default record with one action's fields changed after it was signed."""
    rec = record()
    old = next(a for a in rec.actions if a.stage is action_stage)
    return replace_action(rec, action_stage, replace(old, **changes))  # type: ignore[arg-type]


def _restarted() -> ReviewRecord:
    before = approvals(content(), STAGES[:3])
    returned = act(FINAL, 35, decision=Decision.RETURN, comment="数据需核实")
    after = [act(s, 40 + 10 * i) for i, s in enumerate(STAGES)]
    return record(actions=[*before, returned, *after])


def _old_version_then_new() -> ReviewRecord:
    old = content(title="旧标题")
    rejected = act(SECOND, 5, of=old, decision=Decision.REJECT)
    return add_actions(record(), *approvals(old, STAGES[:2]), rejected)


def _role_ended(at_minutes: int) -> ReviewRecord:
    end = T0 + timedelta(minutes=at_minutes)
    wang = person("wang", ())
    held = (RoleAssignment(Role.SECTION_HEAD, SINCE, end),)
    return record(staff=people(wang=dataclasses.replace(wang, assignments=held)))


PASSING = [
    Case("four stages", record),
    Case("five stages, major event", lambda: record(MAJOR)),
    Case("five stages, special content", lambda: record(SPECIAL)),
    Case("repost from a qualified platform", lambda: record(REPOSTED)),
    Case(
        "principal review not needed but done in order",
        lambda: record(actions=approvals(content(), MAJOR_STAGES)),
    ),
    Case(
        "department allowed to skip 复审",
        lambda: dataclasses.replace(
            drop_stage(record(staff=_in("综合科")), SECOND),  # type: ignore[arg-type]
            department="综合科",
        ),
        policy=SKIPPING,
    ),
    Case(
        "终审 by a 分管领导 in charge of the department, from no department of their own",
        lambda: _staff(
            zhao=replace(
                _holding("zhao", Role.LEADER_IN_CHARGE, frozenset({"其他科", "政府网站运行科"})),
                department=None,
            )
        ),
    ),
    Case(
        "复审 by a delegate (代理) inside the delegation's dates",
        lambda: _staff(
            wang=replace(
                _holding(
                    "wang",
                    Role.SECTION_HEAD,
                    frozenset({"政府网站运行科"}),
                    since=T0,
                    valid_until=T0 + timedelta(days=1),
                    acting_for="李科长",
                ),
                department="其他科",
            )
        ),
    ),
    Case(
        "no stage scoped by policy: reviewers of another department count",
        lambda: record(staff=_in("其他科")),  # type: ignore[arg-type]
        policy=Policy(department_scoped_stages=frozenset()),
    ),
    Case(
        "no images, nothing to look up",
        _with(
            content=content(image_hashes=()),
            actions=approvals(content(image_hashes=())),
            stored_images=None,
        ),
    ),
    Case(
        "rows on the signed channels, any hour of the signed day",
        _with(publications=(row(WEBSITE, SIGNED_DAY, 0), row("微信公众号", SIGNED_DAY, 23))),
    ),
    Case(
        "a signed 改期 moves a row to another day",
        _amended(
            amend(WEBSITE, SIGNED_DAY, date(2024, 5, 10), 55),
            rows=(row(WEBSITE, date(2024, 5, 10)), row("微信公众号", SIGNED_DAY)),
        ),
    ),
    Case(
        "two 改期 in a row, each from the date the one before set",
        _amended(
            amend(WEBSITE, SIGNED_DAY, date(2024, 5, 10), 55),
            amend(WEBSITE, date(2024, 5, 10), date(2024, 5, 7), 60),
            rows=(row(WEBSITE, date(2024, 5, 7)),),
        ),
    ),
    Case(
        "a 改期 of another version does not matter",
        _amended(amend(WEBSITE, SIGNED_DAY, date(2024, 5, 10), 55, of=content(title="旧标题"))),
    ),
    Case(
        "principal review not required by policy",
        lambda: record(MAJOR, approvals(MAJOR, STAGES)),
        policy=Policy(principal_for_major_event=False),
    ),
    Case("sign-off within the allowed clock skew", record, now=T0 + timedelta(minutes=46)),
    Case("review restarted after a return", _restarted),
    Case("an older version's approvals and rejection do not matter", _old_version_then_new),
    Case(
        "role held from the very moment of the action",
        lambda: record(staff=people(wang=person("wang", since=T0 + timedelta(minutes=20)))),
    ),
    Case("role ended just after the action", lambda: _role_ended(21)),
    Case(
        "a return by someone else before the first approval changes nothing",
        lambda: add_actions(record(), act(FIRST, 1, actor="li", decision=Decision.RETURN)),
    ),
]


def _changed_repost_of_own() -> ReviewRecord:
    """A repost of our own approved item, its title changed, with only 签发 (test_repost_of_own)."""
    of = content(title="改过的标题", repost_source=REPOST)
    signed = [act(SIGN_OFF, 100, of=of, submission="S-2")]
    return replace(record(of, signed), submission_id="S-2", original=record())


def _usage_changed_the_title() -> ReviewRecord:
    """稿件用途's version changed the title too (test_usage): the earlier reviews do not carry."""
    reviewed = content()
    changed = content(title="综合科改过的标题")
    earlier = [act(s, 10 * (i + 1), of=reviewed) for i, s in enumerate(STAGES[:3])]
    later = [act(USAGE, 40, of=changed), act(SIGN_OFF, 50, of=changed)]
    return replace(record(changed, [*earlier, *later]), reviewed_as=reviewed)


FAILING = [
    # content
    Case(
        "稿件用途 changed more than the rows",
        _usage_changed_the_title,
        ("usage_rows_only", *("approval_for_other_version",) * 3),
    ),
    Case("no channel requested", lambda: record(content(channels=())), ("no_channels",)),
    Case(
        "repost of our own item changed beyond the source, signed off only",
        _changed_repost_of_own,
        ("repost_original_unusable", *("stage_missing",) * 4),
    ),
    # the stored bytes of the images
    Case("images never looked up", _with(stored_images=None), ("images_unverified",)),
    Case(
        "one image never looked up",
        lambda: replace(record(), stored_images={"a" * 64: "a" * 64}),
        ("images_unverified",),
    ),
    Case(
        "an image's stored bytes changed",
        _with(stored_images={"a" * 64: "a" * 64, "b" * 64: "c" * 64}),
        ("image_bytes_changed",),
    ),
    Case(
        "an image missing from the store",
        _with(stored_images={"a" * 64: None, "b" * 64: "b" * 64}),
        ("image_missing",),
    ),
    # whose department
    Case(
        "复审 by the 科室负责人 of another department",
        lambda: _staff(wang=replace(person("wang"), department="其他科")),
        ("role_out_of_scope", "stage_missing"),
    ),
    Case(
        "初审 by a contributor of another department",
        lambda: _staff(zhang=replace(person("zhang"), department="其他科")),
        ("role_out_of_scope", "stage_missing"),
    ),
    Case(
        "终审 by a 分管领导 not in charge of the department",
        lambda: _staff(zhao=_holding("zhao", Role.LEADER_IN_CHARGE, frozenset({"其他科"}))),
        ("role_out_of_scope", "stage_missing"),
    ),
    Case(
        "复审 by a delegate after the delegation ended",
        lambda: _staff(
            wang=_holding(
                "wang",
                Role.SECTION_HEAD,
                frozenset({"政府网站运行科"}),
                since=T0,
                valid_until=T0 + timedelta(minutes=15),
            )
        ),
        ("role_not_held", "stage_missing"),
    ),
    # the rows that go out
    Case(
        "a row on a channel no signed row names",
        _with(publications=(row("随申办旗舰店", SIGNED_DAY),)),
        ("publication_channel_not_signed",),
    ),
    Case(
        "a row moved to the day before the signed date",
        _with(publications=(row(WEBSITE, date(2024, 5, 7), 23),)),
        ("publication_date_not_signed",),
    ),
    Case(
        "a row moved past midnight Shanghai time (still the signed day in UTC)",
        _with(publications=(row(WEBSITE, date(2024, 5, 9), 1),)),
        ("publication_date_not_signed",),
    ),
    Case(
        "a row the sign-off did not create",
        _with(publications=(row(WEBSITE, SIGNED_DAY, origin="审计链中没有其创建记录"),)),
        ("publication_origin",),
    ),
    Case(
        "a row without a time zone",
        _with(
            publications=(replace(row(WEBSITE, SIGNED_DAY), scheduled_at=datetime(2024, 5, 8, 1)),)
        ),
        ("publication_time_invalid",),
    ),
    Case(
        "a 改期 by someone without the 签发 role does not count",
        _amended(
            amend(WEBSITE, SIGNED_DAY, date(2024, 5, 10), 55, actor="zhao"),
            rows=(row(WEBSITE, date(2024, 5, 10)),),
        ),
        ("amendment_invalid", "publication_date_not_signed"),
    ),
    Case(
        "a 改期 changed after it was signed",
        _amended(
            replace(amend(WEBSITE, SIGNED_DAY, date(2024, 5, 10), 55), new_date=date(2024, 5, 11)),
            rows=(row(WEBSITE, date(2024, 5, 11)),),
        ),
        ("amendment_invalid", "publication_date_not_signed"),
    ),
    Case(
        "a 改期 signed before the sign-off",
        _amended(amend(WEBSITE, SIGNED_DAY, date(2024, 5, 10), 35)),
        ("amendment_invalid",),
    ),
    Case(
        "a 改期 from a date that was no longer the row's",
        _amended(amend(WEBSITE, date(2024, 5, 9), date(2024, 5, 10), 55)),
        ("amendment_invalid",),
    ),
    Case(
        "a 改期 of a channel the form does not have",
        _amended(amend("随申办旗舰店", SIGNED_DAY, date(2024, 5, 10), 55)),
        ("amendment_invalid",),
    ),
    Case(
        "a 改期 by someone not on the staff list",
        lambda: replace(
            record(staff={k: v for k, v in people().items() if k != "chen"}),
            amendments=(amend(WEBSITE, SIGNED_DAY, date(2024, 5, 10), 55, actor="chen"),),
        ),
        ("amendment_invalid",),
    ),
    Case(
        "a 改期 dated in the future",
        _amended(amend(WEBSITE, SIGNED_DAY, date(2024, 5, 10), 60 * 48)),
        ("amendment_invalid",),
    ),
    Case(
        "a 改期 without a time zone",
        _amended(
            replace(
                amend(WEBSITE, SIGNED_DAY, date(2024, 5, 10), 55), acted_at=datetime(2024, 5, 6, 2)
            )
        ),
        ("amendment_invalid",),
    ),
    Case(
        "repost from an unqualified platform",
        lambda: record(content(repost_source=replace(REPOST, platform="某自媒体"))),
        ("source_not_qualified",),
    ),
    *(
        Case(
            f"repost source url {url!r}",
            lambda url=url: record(content(repost_source=replace(REPOST, url=url))),  # type: ignore[misc]
            ("repost_source_invalid",),
        )
        for url in (
            "ftp://www.xuexi.cn/a",
            "javascript:alert(1)",
            "https:///a",
            "www.xuexi.cn/a",
            "https://a b.cn/",
        )
    ),
    *(
        Case(
            f"repost source without {field}",
            lambda field=field: record(content(repost_source=replace(REPOST, **{field: " "}))),  # type: ignore[misc, arg-type]
            ("repost_source_missing_fields",),
        )
        for field in ("platform", "url")
    ),
    Case(
        "repost source time without time zone",
        lambda: with_content(
            record(REPOSTED), repost_source=replace(REPOST, published_at=datetime(2024, 5, 1))
        ),
        ("repost_source_time_invalid", *["approval_for_other_version"] * 5),
    ),
    # one action
    Case(
        "sign-off after now plus the clock skew",
        lambda: replace_action(record(), SIGN_OFF, act(SIGN_OFF, 24 * 60 + 6)),
        ("action_in_future", "stage_missing"),
    ),
    Case(
        "approvals made after now",
        record,
        ("action_in_future",) * 3 + ("stage_missing",) * 3,
        now=T0 + timedelta(minutes=24),
    ),
    Case(
        "action time without time zone",
        lambda: _edit(SIGN_OFF, acted_at=datetime(2024, 5, 6, 2, 0)),
        ("action_time_invalid", "stage_missing"),
    ),
    Case(
        "actor not in the people list",
        lambda: record(staff={k: v for k, v in people().items() if k != "sun"}),
        ("unknown_actor", "stage_missing"),
    ),
    Case(
        "comment edited after signing",
        lambda: _edit(SIGN_OFF, comment="同意"),
        ("signature_invalid", "stage_missing"),
    ),
    Case(
        "time edited after signing",
        lambda: _edit(FINAL, acted_at=T0 + timedelta(minutes=31)),
        ("signature_invalid", "stage_missing"),
    ),
    Case(
        "decision edited after signing",
        lambda: replace_action(
            record(),
            FINAL,
            replace(act(FINAL, 30, decision=Decision.RETURN), decision=Decision.APPROVE),
        ),
        ("signature_invalid", "stage_missing"),
    ),
    Case(
        "signed with someone else's key",
        lambda: replace_action(record(), SECOND, act(SECOND, 20, key=OUTSIDER_KEY)),
        ("signature_invalid", "stage_missing"),
    ),
    Case(
        "truncated signature",
        lambda: _edit(FIRST, signature=b"\x00" * 10),
        ("signature_invalid", "stage_missing"),
    ),
    Case(
        "malformed public key",
        lambda: record(staff=people(sun=replace(person("sun"), public_key=b"short"))),
        ("signature_invalid", "stage_missing"),
    ),
    Case(
        "approval by someone without the stage's role",
        lambda: replace_action(record(), SECOND, act(SECOND, 20, actor="li")),
        ("role_not_held", "stage_missing"),
    ),
    Case(
        "role ended at the moment of the action",
        lambda: _role_ended(20),
        ("role_not_held", "stage_missing"),
    ),
    Case(
        "role held only after the action",
        lambda: record(staff=people(wang=person("wang", since=T0 + timedelta(minutes=21)))),
        ("role_not_held", "stage_missing"),
    ),
    Case(
        "return by someone without the stage's role does not void",
        lambda: add_actions(record(), act(FINAL, 35, actor="li", decision=Decision.RETURN)),
        ("role_not_held",),
    ),
    # the process
    Case(
        "rejected after the final review",
        lambda: add_actions(record(), act(FINAL, 35, decision=Decision.REJECT)),
        ("version_rejected",),
    ),
    Case(
        "rejected at the second review: nothing else is reported missing",
        lambda: record(actions=[act(FIRST, 10), act(SECOND, 20, decision=Decision.REJECT)]),
        ("version_rejected",),
    ),
    Case(
        "a return voids the approvals before it",
        lambda: add_actions(record(), act(FINAL, 35, decision=Decision.RETURN)),
        ("approval_voided_by_return",) * 3,
    ),
    Case("second review missing", lambda: drop_stage(record(), SECOND), ("stage_missing",)),
    Case(
        "only the named department may skip 复审",
        lambda: drop_stage(record(), SECOND),
        ("stage_missing",),
        policy=SKIPPING,
    ),
    Case("nothing approved", lambda: record(actions=[]), ("stage_missing",) * 5),
    Case(
        "major event without principal review",
        lambda: record(MAJOR, approvals(MAJOR)),
        ("principal_review_missing",),
    ),
    Case(
        "special content without principal review",
        lambda: record(SPECIAL, approvals(SPECIAL)),
        ("principal_review_missing",),
    ),
    Case(
        "an approval copied from another submission",
        lambda: replace_action(record(), SECOND, act(SECOND, 20, submission="S-2")),
        ("approval_for_other_submission",),
    ),
    Case(
        "an approval copied from an older version",
        lambda: replace_action(record(), SECOND, act(SECOND, 20, of=content(title="旧标题"))),
        ("approval_for_other_version",),
    ),
    Case(
        "the same stage approved twice",
        lambda: add_actions(record(), act(SECOND, 25, actor="zhou")),
        ("duplicate_approval",),
    ),
    Case(
        "second review before the first",
        lambda: replace_action(record(), FIRST, act(FIRST, 25)),
        ("stage_out_of_order",),
    ),
    Case(
        "optional principal review before the final review",
        lambda: record(actions=[*approvals(content()), act(PRINCIPAL, 25)]),
        ("stage_out_of_order",),
    ),
    Case(
        "two stages at the same moment",
        lambda: replace_action(record(), SECOND, act(SECOND, 10)),
        ("stage_out_of_order",),
    ),
    Case(
        "final review after the sign-off",
        lambda: replace_action(drop_stage(record(), USAGE), FINAL, act(FINAL, 55)),
        ("signoff_not_last",),
        policy=NO_USAGE,
    ),
    Case(
        "one person approves two stages",
        lambda: record(
            actions=[
                act(FIRST, 10),
                act(SECOND, 20),
                act(FINAL, 30, actor="wang"),
                act(USAGE, 35),
                act(SIGN_OFF, 40),
            ],
            staff=people(wang=person("wang", (Role.SECTION_HEAD, Role.LEADER_IN_CHARGE))),
        ),
        ("same_person_multiple_stages",),
    ),
    Case(
        "the author approves the second review",
        lambda: record(
            actions=[
                act(FIRST, 10, actor="li"),
                act(SECOND, 20, actor="zhang"),
                act(FINAL, 30),
                act(USAGE, 35),
                act(SIGN_OFF, 40),
            ],
            staff=people(zhang=person("zhang", (Role.CONTRIBUTOR, Role.SECTION_HEAD))),
        ),
        ("author_reviewed_later_stage",),
    ),
    Case(
        "every violation is listed, not the first",
        lambda: record(
            content(channels=(), repost_source=replace(REPOST, platform="某自媒体")),
            actions=[
                act(
                    FIRST,
                    10,
                    of=content(channels=(), repost_source=replace(REPOST, platform="某自媒体")),
                )
            ],
        ),
        ("no_channels", "source_not_qualified", *("stage_missing",) * 4),
    ),
]

# Edits to a signed version that must void its approvals.
EDITS: dict[str, dict[str, object]] = {
    "a space added to the body": {"body_html": content().body_html + " "},
    "title changed": {"title": content().title + "。"},
    "image hashes swapped": {"image_hashes": tuple(reversed(content().image_hashes))},
    "an image added": {"image_hashes": (*content().image_hashes, "c" * 64)},
    "a channel added": {
        "channels": (*content().channels, ChannelRequest("随申办旗舰店", date(2024, 5, 8)))
    },
    "a channel removed": {"channels": content().channels[:1]},
    "a publish date moved": {
        "channels": (
            replace(content().channels[0], publish_date=date(2024, 5, 9)),
            content().channels[1],
        )
    },
    "a channel remark changed": {
        "channels": (content().channels[0], replace(content().channels[1], remark=""))
    },
    "a repost source added": {"repost_source": REPOST},
}


def _ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


@pytest.mark.parametrize("case", PASSING, ids=_ids(PASSING))
def test_valid_record_escapes(case: Case) -> None:
    verdict = case.verdict()
    assert verdict.violations == ()
    assert verdict.passed


@pytest.mark.parametrize("case", FAILING, ids=_ids(FAILING))
def test_broken_rule_is_reported(case: Case) -> None:
    verdict = case.verdict()
    assert sorted(verdict.codes) == sorted(case.codes)
    assert not verdict.passed


@pytest.mark.parametrize("changes", EDITS.values(), ids=EDITS.keys())
def test_any_edit_after_approval_needs_a_new_review(changes: dict[str, object]) -> None:
    verdict = evaluate(with_content(record(), **changes), now=NOW)
    assert verdict.codes == ("approval_for_other_version",) * 5
    assert [v.stage for v in verdict.violations] == list(STAGES)


@pytest.mark.parametrize("flag", ["major_event", "special_content"])
def test_changed_flag_needs_a_new_review_and_the_principal(flag: str) -> None:
    verdict = evaluate(with_content(record(), **{flag: True}), now=NOW)
    assert (
        verdict.codes
        == ("approval_for_other_version",) * 3
        + ("principal_review_missing",)
        + ("approval_for_other_version",) * 2
    )


@pytest.mark.parametrize(
    "source",
    [
        replace(REPOST, url="https://www.xuexi.cn/a/2.html"),
        replace(REPOST, platform="绿色青浦"),
        replace(REPOST, published_at=REPOST.published_at + timedelta(seconds=1)),
        None,
    ],
)
def test_changed_repost_source_needs_a_new_review(source: object) -> None:
    verdict = evaluate(with_content(record(REPOSTED), repost_source=source), now=NOW)
    assert verdict.codes == ("approval_for_other_version",) * 5


def test_every_code_in_the_table_is_exercised() -> None:
    seen = {code for case in FAILING for code in case.codes}
    assert seen == set(VIOLATION_MESSAGES)
    assert set(VIOLATION_MESSAGES) >= MISSING_STAGE_CODES


def test_missing_stage_message_says_the_approval_was_for_an_old_version() -> None:
    verdict = evaluate(with_content(record(), title="改过的标题"), now=NOW)
    first = verdict.violations[0]
    assert (first.code, first.stage, first.action_id) == ("approval_for_other_version", FIRST, "")
    assert first.message == "初审的通过意见针对的是旧版本，本版本需重新审核"


def test_action_violations_name_the_action_and_its_stage() -> None:
    verdict = evaluate(_edit(FINAL, comment="改"), now=NOW)
    bad = verdict.violations[0]
    assert (bad.code, bad.stage, bad.action_id) == ("signature_invalid", FINAL, "final-zhao-30")
    assert "赵分管" in bad.message


@pytest.mark.parametrize("rule", RULES, ids=[r.__name__ for r in RULES])
def test_without_the_rule_some_broken_record_escapes(rule: object) -> None:
    """Each rule is needed: some broken record escapes (passes, or gets no verdict) without it."""
    rules = [r for r in RULES if r is not rule]
    assert any(_escapes(case, rules=rules) for case in FAILING)


@pytest.mark.parametrize("check", ACTION_CHECKS, ids=[c.__name__ for c in ACTION_CHECKS])
def test_without_the_check_some_broken_record_escapes(check: object) -> None:
    checks = [c for c in ACTION_CHECKS if c is not check]
    assert any(_escapes(case, checks=checks) for case in FAILING)


def _escapes(case: Case, **ablation: object) -> bool:
    rules = ablation.pop("rules", RULES)
    try:
        context = ReviewContext(case.build(), case.policy, case.now, **ablation)  # type: ignore[arg-type]
        return not list(violations(context, rules))  # type: ignore[arg-type]
    except (TypeError, ValueError, KeyError):  # a check's premise gone: no verdict, escaped
        return True


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        evaluate(record(), now=datetime(2024, 5, 7))
