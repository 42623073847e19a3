"""How long each review stage took (median and p90 by nearest rank, computed in the
database), and the decisions made past their stage's time limit (services.deadlines)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from orchestrator.documents.archive import app_for
from orchestrator.models import ReviewAction, Submission, Version
from orchestrator.reports.statistics.counts import in_period, scoped
from orchestrator.reports.statistics.figures import StageFigures
from orchestrator.reports.statistics.periods import Period
from orchestrator.services import deadlines


def review_steps(*extra: Any) -> Select[Any]:
    """Each review action (stage, acted_at) with `since`: the previous action on the same
    version, or the version's creation; `extra` columns after them."""
    RA = ReviewAction
    previous = func.lag(RA.acted_at).over(partition_by=RA.version_id, order_by=(RA.acted_at, RA.id))
    return select(
        RA.stage.label("stage"),
        RA.acted_at.label("acted_at"),
        func.coalesce(previous, Version.created_at).label("since"),
        *extra,
    ).join(Version, Version.id == RA.version_id)


def _seconds(dialect: str, later: Any, earlier: Any) -> Any:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def measure_timings(
    session: Session, period: Period, dept_id: int | None, stages: dict[str, StageFigures]
) -> None:
    """Median and p90 per stage, by nearest rank, computed in the database."""
    RA = ReviewAction
    touched = scoped(
        select(RA.version_id)
        .join(Submission, Submission.id == RA.submission_id)
        .where(in_period(RA.acted_at, period)),
        dept_id,
    )
    steps = review_steps().where(RA.version_id.in_(touched)).subquery()
    dialect = session.get_bind().dialect.name
    seconds = _seconds(dialect, steps.c.acted_at, steps.c.since)
    ranked = (
        select(
            steps.c.stage,
            seconds.label("seconds"),
            func.row_number().over(partition_by=steps.c.stage, order_by=seconds).label("rn"),
            func.count().over(partition_by=steps.c.stage).label("n"),
        )
        .where(in_period(steps.c.acted_at, period))
        .subquery()
    )
    # Nearest rank: ceil(n * p) as integer arithmetic (SQLite may lack ceil()).
    at = {p: (ranked.c.n * p + 99) // 100 for p in (50, 90)}
    query = select(
        ranked.c.stage,
        func.max(ranked.c.n),
        func.max(case((ranked.c.rn == at[50], ranked.c.seconds))),
        func.max(case((ranked.c.rn == at[90], ranked.c.seconds))),
    ).group_by(ranked.c.stage)
    for stage, n, median, p90 in session.execute(query):
        row = stages.setdefault(stage, StageFigures(stage, stage))
        row.timed = int(n)
        row.median_hours = _hours(median)
        row.p90_hours = _hours(p90)


def count_late_decisions(
    session: Session,
    period: Period,
    dept_id: int | None,
    stages: dict[str, StageFigures],
) -> None:
    """Decisions made past their stage's time limit in the period, by the rule the reminders
    follow (services/deadlines): one query; the working-day arithmetic in Python."""
    settings = app_for(session).settings
    steps = (
        review_steps(
            Submission.urgent.label("urgent"), Submission.department_id.label("department_id")
        )
        .join(Submission, Submission.id == ReviewAction.submission_id)
        .subquery()
    )
    query = select(steps.c.stage, steps.c.acted_at, steps.c.since, steps.c.urgent).where(
        in_period(steps.c.acted_at, period)
    )
    if dept_id is not None:
        query = query.where(steps.c.department_id == dept_id)
    for stage, acted_at, since, urgent in session.execute(query):
        if acted_at >= deadlines.due_after(since, bool(urgent), settings):
            stages.setdefault(stage, StageFigures(stage, stage)).overdue += 1


def _hours(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)
