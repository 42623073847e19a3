"""The office's configurable review rules, with the seed's rules as defaults.

`Policy.from_dict` builds one from plain values (YAML, environment), so config files name
stages and roles by their English values:

    stage_roles: {first: [contributor], second: [section_head], ...}   # replaces the defaults
    principal_for_major_event: true
    principal_for_special_content: true
    usage_decision: true        # 综合科 decides each item's use (稿件用途) before 签发
    qualified_sources: [学习强国, 绿色青浦, 政务公共信息平台]
    skip_second_review_departments: [某科室]
    department_scoped_stages: [first, second, final]   # reviewed only by the item's department
    timezone: Asia/Shanghai                            # whose calendar the 发布日期 are days of
    clock_skew_seconds: 300

Unknown keys, unknown stages or roles and wrong types raise `InvalidPolicy` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gate.model import STAGE_ORDER, ReviewStage, Role

DEFAULT_STAGE_ROLES: Mapping[ReviewStage, frozenset[Role]] = MappingProxyType(
    {
        ReviewStage.FIRST: frozenset({Role.CONTRIBUTOR}),
        ReviewStage.SECOND: frozenset({Role.SECTION_HEAD}),
        ReviewStage.FINAL: frozenset({Role.LEADER_IN_CHARGE}),
        ReviewStage.PRINCIPAL: frozenset({Role.PRINCIPAL_LEADER}),
        ReviewStage.USAGE: frozenset({Role.GENERAL_OFFICE}),
        ReviewStage.SIGN_OFF: frozenset({Role.PUBLICITY_LEADER}),
    }
)

# The upward platforms (市、区及以上媒体平台) the seed names; the office may add more.
DEFAULT_QUALIFIED_SOURCES: frozenset[str] = frozenset({"学习强国", "绿色青浦", "政务公共信息平台"})

# The seed names the people of *that* 科室/窗口 (经办人, 科室负责人) and the 业务分管领导 of that
# business; 主要领导 and 宣传分管领导 act for the whole office.
DEFAULT_SCOPED_STAGES: frozenset[ReviewStage] = frozenset(
    {ReviewStage.FIRST, ReviewStage.SECOND, ReviewStage.FINAL}
)


class InvalidPolicy(ValueError):
    """A policy configuration that cannot be used; the message says which key and why."""


@dataclass(frozen=True)
class Policy:
    stage_roles: Mapping[ReviewStage, frozenset[Role]] = field(
        default_factory=lambda: DEFAULT_STAGE_ROLES
    )
    principal_for_major_event: bool = True
    principal_for_special_content: bool = True
    # The seed: every item reaches 综合科, which decides its use (稿件用途) before 签发.
    usage_decision: bool = True
    qualified_sources: frozenset[str] = DEFAULT_QUALIFIED_SOURCES
    # Departments without a 科室负责人 may go from 初审 straight to 终审.
    skip_second_review_departments: frozenset[str] = frozenset()
    department_scoped_stages: frozenset[ReviewStage] = DEFAULT_SCOPED_STAGES
    timezone: str = "Asia/Shanghai"
    clock_skew: timedelta = timedelta(minutes=5)
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        missing = [s.label for s in STAGE_ORDER if not self.stage_roles.get(s)]
        if missing:
            raise InvalidPolicy(f"stage_roles：以下审核环节没有可审核的角色：{'、'.join(missing)}")
        if self.clock_skew < timedelta(0):
            raise InvalidPolicy("clock_skew_seconds：允许的时钟偏差不能为负数")
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidPolicy(f"timezone：未知的时区“{self.timezone}”") from None
        object.__setattr__(self, "zone", zone)
        object.__setattr__(self, "stage_roles", MappingProxyType(dict(self.stage_roles)))

    def scoped(self, stage: ReviewStage) -> bool:
        """Whether `stage` may only be done by people whose role covers the item's department."""
        return stage in self.department_scoped_stages

    def roles_for(self, stage: ReviewStage) -> frozenset[Role]:
        return self.stage_roles[stage]

    def needs_principal_review(self, major_event: bool, special_content: bool) -> bool:
        return (major_event and self.principal_for_major_event) or (
            special_content and self.principal_for_special_content
        )

    def skips_second_review(self, department: str) -> bool:
        return department in self.skip_second_review_departments

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from plain values; keys left out keep their defaults."""
        unknown = sorted(set(data) - set(_PARSERS))
        if unknown:
            raise InvalidPolicy(
                f"审核策略配置中有未知的键：{', '.join(unknown)}（可用的键：{', '.join(_PARSERS)}）"
            )
        values = {}
        for key, raw in data.items():
            name, parse = _PARSERS[key]
            try:
                values[name] = parse(raw)
            except (TypeError, ValueError) as exc:
                raise InvalidPolicy(f"审核策略配置项 {key} 无效：{exc}") from exc
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The plain form `from_dict` reads back."""
        return {
            "stage_roles": {
                s.value: sorted(r.value for r in self.stage_roles[s]) for s in STAGE_ORDER
            },
            "principal_for_major_event": self.principal_for_major_event,
            "principal_for_special_content": self.principal_for_special_content,
            "usage_decision": self.usage_decision,
            "qualified_sources": sorted(self.qualified_sources),
            "skip_second_review_departments": sorted(self.skip_second_review_departments),
            "department_scoped_stages": [
                s.value for s in STAGE_ORDER if s in self.department_scoped_stages
            ],
            "timezone": self.timezone,
            "clock_skew_seconds": self.clock_skew.total_seconds(),
        }


def _bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise TypeError(f"应为 true/false，实际为 {raw!r}")
    return raw


def _names(raw: Any) -> frozenset[str]:
    if not _list_of_text(raw):
        raise TypeError(f"应为名称列表，实际为 {raw!r}")
    return frozenset(x.strip() for x in raw)


# A clock skew beyond a day would let an action dated tomorrow count today.
_MAX_SKEW_SECONDS = 86_400


def _seconds(raw: Any) -> timedelta:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise TypeError(f"应为秒数，实际为 {raw!r}")
    if not raw <= _MAX_SKEW_SECONDS:  # also NaN
        raise ValueError(f"应为不超过 {_MAX_SKEW_SECONDS} 的秒数，实际为 {raw!r}")
    return timedelta(seconds=raw)


def _list_of_text(raw: Any) -> bool:
    return isinstance(raw, list | tuple | set | frozenset) and all(isinstance(x, str) for x in raw)


def _stages(raw: Any) -> frozenset[ReviewStage]:
    if not _list_of_text(raw):
        raise TypeError(f"应为审核环节列表，实际为 {raw!r}")
    unknown = [x for x in raw if x not in _STAGE_VALUES]
    if unknown:
        raise ValueError(f"未知的审核环节 {unknown!r}（可用：{', '.join(_STAGE_VALUES)}）")
    return frozenset(ReviewStage(x) for x in raw)


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError(f"应为文字，实际为 {raw!r}")
    return raw


def _stage_roles(raw: Any) -> Mapping[ReviewStage, frozenset[Role]]:
    if not isinstance(raw, Mapping):
        raise TypeError(f"应为“审核环节: [角色, ...]”的映射，实际为 {raw!r}")
    roles = dict(DEFAULT_STAGE_ROLES)
    for stage, names in raw.items():
        if stage not in _STAGE_VALUES:
            raise ValueError(f"未知的审核环节 {stage!r}（可用：{', '.join(_STAGE_VALUES)}）")
        if not _list_of_text(names):
            raise TypeError(f"{stage} 应为角色列表，实际为 {names!r}")
        unknown = [n for n in names if n not in _ROLE_VALUES]
        if unknown:
            raise ValueError(f"未知的角色 {unknown!r}（可用：{', '.join(_ROLE_VALUES)}）")
        roles[ReviewStage(stage)] = frozenset(Role(n) for n in names)
    return roles


_STAGE_VALUES = tuple(s.value for s in STAGE_ORDER)
_ROLE_VALUES = tuple(r.value for r in Role)

_PARSERS: dict[str, tuple[str, Any]] = {
    "stage_roles": ("stage_roles", _stage_roles),
    "principal_for_major_event": ("principal_for_major_event", _bool),
    "principal_for_special_content": ("principal_for_special_content", _bool),
    "usage_decision": ("usage_decision", _bool),
    "qualified_sources": ("qualified_sources", _names),
    "skip_second_review_departments": ("skip_second_review_departments", _names),
    "department_scoped_stages": ("department_scoped_stages", _stages),
    "timezone": ("timezone", _text),
    "clock_skew_seconds": ("clock_skew", _seconds),
}

DEFAULT_POLICY = Policy()
