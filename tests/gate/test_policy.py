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


@pytest.mark.parametrize(
    ("config", "mentions"),
    [
        ({"qualified_source": ["学习强国"]}, "qualified_source"),
        ({"stage_roles": {"third": ["contributor"]}}, "third"),
        ({"stage_roles": {"first": ["editor"]}}, "editor"),
        ({"stage_roles": {"first": []}}, "初审"),
        ({"stage_roles": {"first": "contributor"}}, "stage_roles"),
        ({"stage_roles": ["first"]}, "stage_roles"),
        ({"qualified_sources": "学习强国"}, "qualified_sources"),
        ({"principal_for_major_event": "yes"}, "principal_for_major_event"),
        ({"clock_skew_seconds": "300"}, "clock_skew_seconds"),
        ({"clock_skew_seconds": -1}, "clock_skew_seconds"),
    ],
)
def test_bad_config_names_the_key(config: dict[str, Any], mentions: str) -> None:
    with pytest.raises(InvalidPolicy) as raised:
        Policy.from_dict(config)
    assert mentions in str(raised.value)


def test_policy_is_immutable() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_POLICY.clock_skew = timedelta(0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULT_POLICY.stage_roles[ReviewStage.FIRST] = frozenset()  # type: ignore[index]
