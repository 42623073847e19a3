"""The statistics report as typed figures: per department, per review stage, per channel,
and the publications that went out late or not at all."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from gate.model import STAGE_ORDER
from orchestrator.reports.statistics.periods import Period


def _stage_counts() -> dict[str, int]:
    return {stage.value: 0 for stage in STAGE_ORDER}


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@dataclass
class DepartmentFigures:
    code: str
    name: str
    submitted: int = 0
    returned: dict[str, int] = field(default_factory=_stage_counts)  # by stage
    rejected: dict[str, int] = field(default_factory=_stage_counts)
    signed_off: int = 0
    published: int = 0
    failed: int = 0
    retracted: int = 0
    upward_submitted: int = 0
    upward_adopted: int = 0
    sent_late: int = 0
    overdue_unsent: int = 0

    @property
    def returned_total(self) -> int:
        return sum(self.returned.values())

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def adoption_rate(self) -> float | None:
        return rate(self.upward_adopted, self.upward_submitted)


@dataclass
class StageFigures:
    stage: str
    label: str
    approved: int = 0
    returned: int = 0
    rejected: int = 0
    timed: int = 0  # actions with a measured time
    median_hours: float | None = None
    p90_hours: float | None = None
    overdue: int = 0  # decisions made after the stage's time limit (services/deadlines)


@dataclass
class ChannelFigures:
    channel: str
    label: str
    upward: bool
    published: int = 0
    failed: int = 0
    retracted: int = 0
    submitted: int = 0  # upward only: sent to the platform
    adopted: int = 0  # upward only: of those, adopted
    sent_late: int = 0
    overdue_unsent: int = 0

    @property
    def adoption_rate(self) -> float | None:
        return rate(self.adopted, self.submitted) if self.upward else None


@dataclass
class OverdueItem:
    publication_id: int
    submission_id: int
    title: str
    department: str
    channel: str
    scheduled_at: datetime
    sent_at: datetime | None
    state: str
    reason: str  # 迟发 / 逾期未发


@dataclass
class Report:
    period: Period
    generated_at: datetime
    department_filter: str | None = None
    departments: list[DepartmentFigures] = field(default_factory=list)
    stages: list[StageFigures] = field(default_factory=list)
    channels: list[ChannelFigures] = field(default_factory=list)
    overdue: list[OverdueItem] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.departments or self.channels or any(s.timed for s in self.stages))

    @property
    def upward(self) -> list[ChannelFigures]:
        return [c for c in self.channels if c.upward]

    def totals(self) -> DepartmentFigures:
        total = DepartmentFigures("", "合计")
        for d in self.departments:
            for name in _SUMMED:
                setattr(total, name, getattr(total, name) + getattr(d, name))
            for stage in STAGE_ORDER:
                total.returned[stage.value] += d.returned[stage.value]
                total.rejected[stage.value] += d.rejected[stage.value]
        return total

    def ranking(self) -> list[DepartmentFigures]:
        """Departments by adopted upward submissions, then adoption rate, then code."""
        return sorted(
            (d for d in self.departments if d.upward_submitted),
            key=lambda d: (-d.upward_adopted, -(d.adoption_rate or 0.0), d.code),
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["period"] = asdict(self.period)
        totals = self.totals()
        out["totals"] = asdict(totals) | {"adoption_rate": totals.adoption_rate}
        rates = [d.adoption_rate for d in self.departments] + [
            c.adoption_rate for c in self.channels
        ]
        for row, value in zip([*out["departments"], *out["channels"]], rates, strict=True):
            row["adoption_rate"] = value
        out["ranking"] = [d.code for d in self.ranking()]
        out["empty"] = self.is_empty
        return out


_SUMMED = (
    "submitted",
    "signed_off",
    "published",
    "failed",
    "retracted",
    "upward_submitted",
    "upward_adopted",
    "sent_late",
    "overdue_unsent",
)
