from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gate import DEFAULT_POLICY, InvalidPolicy, Policy
from gate.model import STAGE_ORDER, ReviewStage, Role


def test_defaults_follow_the_seed() -> None:
    roles = {stage: DEFAULT_POLICY.roles_for(stage) for stage in STAGE_ORDER}
    assert roles == {
        ReviewStage.FIRST: {Role.CONTRIBUTOR},
        ReviewStage.SECOND: {Role.SECTION_HEAD},
        ReviewStage.FINAL: {Role.LEADER_IN_CHARGE},
        ReviewStage.PRINCIPAL: {Role.PRINCIPAL_LEADER},
        ReviewStage.USAGE: {Role.GENERAL_OFFICE},
        ReviewStage.SIGN_OFF: {Role.PUBLICITY_LEADER},
    }
    assert DEFAULT_POLICY.usage_decision  # every item reaches 综合科 (稿件用途) before 签发
    assert DEFAULT_POLICY.qualified_sources == {"学习强国", "绿色青浦", "政务公共信息平台"}
    assert DEFAULT_POLICY.skip_second_review_departments == frozenset()
    assert DEFAULT_POLICY.needs_principal_review(major_event=True, special_content=False)
    assert DEFAULT_POLICY.needs_principal_review(major_event=False, special_content=True)
    assert not DEFAULT_POLICY.needs_principal_review(major_event=False, special_content=False)
    assert DEFAULT_POLICY.clock_skew == timedelta(minutes=5)


def test_from_dict_reads_plain_values() -> None:
    policy = Policy.from_dict(
        {
            "stage_roles": {"second": ["section_head", "leader_in_charge"]},
            "qualified_sources": ["学习强国", " 上海发布 "],
            "skip_second_review_departments": ["数据管理发展科"],
            "principal_for_special_content": False,
            "clock_skew_seconds": 90,
        }
    )
    assert policy.roles_for(ReviewStage.SECOND) == {Role.SECTION_HEAD, Role.LEADER_IN_CHARGE}
    assert policy.roles_for(ReviewStage.FINAL) == {Role.LEADER_IN_CHARGE}
    assert policy.qualified_sources == {"学习强国", "上海发布"}
    assert policy.skips_second_review("数据管理发展科")
    assert not policy.needs_principal_review(major_event=False, special_content=True)
    assert policy.clock_skew == timedelta(seconds=90)


def test_empty_dict_is_the_default_and_to_dict_round_trips() -> None:
    assert Policy.from_dict({}) == DEFAULT_POLICY
    custom = Policy.from_dict(
        {"skip_second_review_departments": ["综合科"], "clock_skew_seconds": 1}
    )
    assert Policy.from_dict(custom.to_dict()) == custom


STAGES = "first, second, final, principal, usage, sign_off"
ROLES = (
    "contributor, section_head, leader_in_charge, principal_leader, publicity_leader, "
    "general_office, web_operations, operator"
)
KEYS = (
    "stage_roles, principal_for_major_event, principal_for_special_content, usage_decision, "
    "qualified_sources, skip_second_review_departments, department_scoped_stages, timezone, "
    "clock_skew_seconds"
)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"qualified_source": ["学习强国"]},
            f"审核策略配置中有未知的键：qualified_source（可用的键：{KEYS}）",
        ),
        (
            {"timezone": "Asia/Shanghai", "skew": 1, "qualified_source": []},
            f"审核策略配置中有未知的键：qualified_source, skew（可用的键：{KEYS}）",
        ),
        (
            {"stage_roles": {"third": ["contributor"]}},
            f"审核策略配置项 stage_roles 无效：未知的审核环节 'third'（可用：{STAGES}）",
        ),
        (
            {"stage_roles": {"first": ["contributor", "editor"]}},
            f"审核策略配置项 stage_roles 无效：未知的角色 ['editor']（可用：{ROLES}）",
        ),
        ({"stage_roles": {"first": []}}, "stage_roles：以下审核环节没有可审核的角色：初审"),
        (
            {"stage_roles": {"first": [], "sign_off": []}},
            "stage_roles：以下审核环节没有可审核的角色：初审、签发",
        ),
        (
            {"stage_roles": {"first": "contributor"}},
            "审核策略配置项 stage_roles 无效：first 应为角色列表，实际为 'contributor'",
        ),
        (
            {"stage_roles": {"first": ["contributor", 1]}},
            "审核策略配置项 stage_roles 无效：first 应为角色列表，实际为 ['contributor', 1]",
        ),
        (
            {"stage_roles": ["first"]},
            "审核策略配置项 stage_roles 无效：应为“审核环节: [角色, ...]”的映射，实际为 ['first']",
        ),
        (
            {"qualified_sources": "学习强国"},
            "审核策略配置项 qualified_sources 无效：应为名称列表，实际为 '学习强国'",
        ),
        (
            {"principal_for_major_event": "yes"},
            "审核策略配置项 principal_for_major_event 无效：应为 true/false，实际为 'yes'",
        ),
        (
            {"clock_skew_seconds": "300"},
            "审核策略配置项 clock_skew_seconds 无效：应为秒数，实际为 '300'",
        ),
        (
            {"clock_skew_seconds": True},  # not one second
            "审核策略配置项 clock_skew_seconds 无效：应为秒数，实际为 True",
        ),
        ({"clock_skew_seconds": -1}, "clock_skew_seconds：允许的时钟偏差不能为负数"),
        (
            {"clock_skew_seconds": float("inf")},  # YAML's .inf
            "审核策略配置项 clock_skew_seconds 无效：应为不超过 86400 的秒数，实际为 inf",
        ),
        (
            {"clock_skew_seconds": 1e20},  # beyond what a timedelta holds
            "审核策略配置项 clock_skew_seconds 无效：应为不超过 86400 的秒数，实际为 1e+20",
        ),
        (
            {"clock_skew_seconds": float("nan")},
            "审核策略配置项 clock_skew_seconds 无效：应为不超过 86400 的秒数，实际为 nan",
        ),
        (
            {"qualified_sources": 5},
            "审核策略配置项 qualified_sources 无效：应为名称列表，实际为 5",
        ),
        (
            {"stage_roles": {"first": None}},
            "审核策略配置项 stage_roles 无效：first 应为角色列表，实际为 None",
        ),
        (
            {"department_scoped_stages": "first"},
            "审核策略配置项 department_scoped_stages 无效：应为审核环节列表，实际为 'first'",
        ),
        (
            {"department_scoped_stages": ["first", 2]},
            "审核策略配置项 department_scoped_stages 无效：应为审核环节列表，实际为 ['first', 2]",
        ),
        (
            {"department_scoped_stages": ["first", "third"]},
            f"审核策略配置项 department_scoped_stages 无效：未知的审核环节 ['third']（可用：{STAGES}）",
        ),
        ({"timezone": 8}, "审核策略配置项 timezone 无效：应为文字，实际为 8"),
        ({"timezone": "Mars/Base"}, "timezone：未知的时区“Mars/Base”"),
    ],
)
def test_bad_config_names_the_key(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPolicy) as raised:
        Policy.from_dict(config)
    assert str(raised.value) == message


def test_policy_is_immutable() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_POLICY.clock_skew = timedelta(0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULT_POLICY.stage_roles[ReviewStage.FIRST] = frozenset()  # type: ignore[index]
    custom = Policy.from_dict({"stage_roles": {"second": ["section_head"]}})
    with pytest.raises(TypeError):
        custom.stage_roles[ReviewStage.FIRST] = frozenset()  # type: ignore[index]


def test_policy_keeps_its_own_copy_of_the_stage_roles() -> None:
    roles = dict(DEFAULT_POLICY.stage_roles)
    policy = Policy(stage_roles=roles)
    roles[ReviewStage.SIGN_OFF] = frozenset({Role.OPERATOR})
    assert policy.roles_for(ReviewStage.SIGN_OFF) == {Role.PUBLICITY_LEADER}


def test_a_clock_skew_of_up_to_a_day_is_taken() -> None:
    assert Policy.from_dict({"clock_skew_seconds": 86_400}).clock_skew == timedelta(days=1)
    assert Policy.from_dict({"clock_skew_seconds": 0.5}).clock_skew == timedelta(milliseconds=500)
    with pytest.raises(InvalidPolicy, match=r"应为不超过 86400 的秒数，实际为 86400\.5"):
        Policy.from_dict({"clock_skew_seconds": 86_400.5})
