"""`build`: the statistics report of one period (and optionally one department), from the
queries of counts and timings. No data: an empty report."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.model import STAGE_ORDER
from orchestrator.errors import NotFound
from orchestrator.models import Department
from orchestrator.reports.statistics.counts import (
    Figures,
    count_decisions,
    count_publications,
    count_submitted,
    overdue_items,
)
from orchestrator.reports.statistics.figures import Report, StageFigures
from orchestrator.reports.statistics.periods import Period
from orchestrator.reports.statistics.timings import count_late_decisions, measure_timings


def build(
    session: Session,
    period: Period,
    *,
    department: str | None = None,
    now: datetime | None = None,
) -> Report:
    """The report for one period (and optionally one department). No data: an empty report."""
    now = now or datetime.now(UTC)
    dept_id = _department_id(session, department)
    figures = Figures(session)
    count_submitted(session, period, dept_id, figures)
    stages = count_decisions(session, period, dept_id, figures)
    count_publications(session, period, dept_id, figures, now)
    measure_timings(session, period, dept_id, stages)
    count_late_decisions(session, period, dept_id, stages)
    order = list(figures.catalogue)
    return Report(
        period=period,
        generated_at=now,
        department_filter=department,
        departments=[figures.departments[c] for c in sorted(figures.departments)],
        stages=[
            stages[s.value] for s in STAGE_ORDER if stages[s.value].timed or _acted(stages[s.value])
        ],
        channels=sorted(
            figures.channels.values(),
            key=lambda c: (c.upward, order.index(c.channel) if c.channel in order else 99),
        ),
        overdue=overdue_items(session, period, dept_id, figures, now),
    )


def _acted(stage: StageFigures) -> bool:
    return bool(stage.approved or stage.returned or stage.rejected)


def _department_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    found = session.scalar(select(Department.id).where(Department.code == code))
    if found is None:
        raise NotFound(f"没有代码为“{code}”的科室", code="unknown_department")
    return found
