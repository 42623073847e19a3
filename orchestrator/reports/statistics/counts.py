"""The GROUP BY queries behind the counts: submissions, decisions by stage, publications by
channel, and the publications that went out late or are overdue. Nothing walks rows in
Python; each query adds its groups to the department and channel figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from channels.base import ChannelKind
from channels.registry import load_channels
from gate.model import STAGE_LABELS, STAGE_ORDER, Decision, ReviewStage
from orchestrator.models import Department, Publication, ReviewAction, Submission, Version
from orchestrator.reports.statistics.figures import (
    ChannelFigures,
    DepartmentFigures,
    OverdueItem,
    StageFigures,
)
from orchestrator.reports.statistics.periods import Period
from orchestrator.states import State

OVERDUE_GRACE = timedelta(minutes=10)
UNSENT_STATES = (State.SCHEDULED.value, State.QUEUED.value, State.MANUAL.value, State.FAILED.value)


def in_period(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class Figures:
    """Accumulates query results into department and channel rows (one per group, not row)."""

    def __init__(self, session: Session) -> None:
        self.names = dict(session.execute(select(Department.code, Department.name)).all())
        self.catalogue = load_channels()
        self.departments: dict[str, DepartmentFigures] = {}
        self.channels: dict[str, ChannelFigures] = {}

    def department(self, code: str) -> DepartmentFigures:
        if code not in self.departments:
            self.departments[code] = DepartmentFigures(code, self.names.get(code, code))
        return self.departments[code]

    def channel(self, name: str) -> ChannelFigures:
        if name not in self.channels:
            cls = self.catalogue.get(name)
            self.channels[name] = ChannelFigures(
                name,
                cls.display_name if cls else name,
                cls is not None and cls.kind is ChannelKind.UPWARD,
            )
        return self.channels[name]

    @property
    def upward_names(self) -> list[str]:
        return [n for n, c in self.catalogue.items() if c.kind is ChannelKind.UPWARD]


def scoped(query: Any, dept_id: int | None) -> Any:
    return query if dept_id is None else query.where(Submission.department_id == dept_id)


def count_submitted(
    session: Session, period: Period, dept_id: int | None, figures: Figures
) -> None:
    query = (
        select(Department.code, func.count(Submission.id))
        .join(Department, Department.id == Submission.department_id)
        .where(in_period(Submission.created_at, period))
        .group_by(Department.code)
    )
    for code, count in session.execute(scoped(query, dept_id)):
        figures.department(code).submitted = count


def count_decisions(
    session: Session, period: Period, dept_id: int | None, figures: Figures
) -> dict[str, StageFigures]:
    stages = {s.value: StageFigures(s.value, STAGE_LABELS[s]) for s in STAGE_ORDER}
    query = (
        select(Department.code, ReviewAction.stage, ReviewAction.decision, func.count())
        .join(Submission, Submission.id == ReviewAction.submission_id)
        .join(Department, Department.id == Submission.department_id)
        .where(in_period(ReviewAction.acted_at, period))
        .group_by(Department.code, ReviewAction.stage, ReviewAction.decision)
    )
    for code, stage, decision, count in session.execute(scoped(query, dept_id)):
        row = figures.department(code)
        summary = stages.setdefault(stage, StageFigures(stage, stage))
        if decision == Decision.RETURN.value:
            row.returned[stage] = row.returned.get(stage, 0) + count
            summary.returned += count
        elif decision == Decision.REJECT.value:
            row.rejected[stage] = row.rejected.get(stage, 0) + count
            summary.rejected += count
        else:
            summary.approved += count
            if stage == ReviewStage.SIGN_OFF.value:
                row.signed_off += count
    return stages


def count_publications(
    session: Session, period: Period, dept_id: int | None, figures: Figures, now: datetime
) -> None:
    P = Publication
    upward = P.channel.in_(figures.upward_names)
    sent_in = and_(upward, in_period(P.sent_at, period))
    due_in = in_period(P.scheduled_at, period)
    columns = {
        "published": count_if(in_period(P.published_at, period)),
        "failed": count_if(
            and_(P.state == State.FAILED.value, in_period(P.state_changed_at, period))
        ),
        "retracted": count_if(
            and_(P.state == State.RETRACTED.value, in_period(P.state_changed_at, period))
        ),
        "submitted": count_if(sent_in),
        "adopted": count_if(and_(sent_in, P.published_at.is_not(None))),
        "sent_late": count_if(and_(due_in, P.late.is_(True), P.sent_at.is_not(None))),
        "overdue_unsent": count_if(unsent_overdue(period, now)),
    }
    query = (
        select(Department.code, P.channel, *(c.label(n) for n, c in columns.items()))
        .join(Submission, Submission.id == P.submission_id)
        .join(Department, Department.id == Submission.department_id)
        .where(
            or_(
                in_period(P.published_at, period),
                in_period(P.state_changed_at, period),
                in_period(P.sent_at, period),
                due_in,
            )
        )
        .group_by(Department.code, P.channel)
    )
    for row in session.execute(scoped(query, dept_id)).mappings():
        counts = {name: int(row[name]) for name in columns}
        if not any(counts.values()):
            continue
        channel = figures.channel(row["channel"])
        for name, value in counts.items():
            setattr(channel, name, getattr(channel, name) + value)
        dept = figures.department(row["code"])
        for name in ("published", "failed", "retracted", "sent_late", "overdue_unsent"):
            setattr(dept, name, getattr(dept, name) + counts[name])
        dept.upward_submitted += counts["submitted"]
        dept.upward_adopted += counts["adopted"]


def unsent_overdue(period: Period, now: datetime) -> ColumnElement[bool]:
    P = Publication
    return and_(
        in_period(P.scheduled_at, period),
        P.scheduled_at < now - OVERDUE_GRACE,
        P.sent_at.is_(None),
        P.state.in_(UNSENT_STATES),
    )


def overdue_items(
    session: Session, period: Period, dept_id: int | None, figures: Figures, now: datetime
) -> list[OverdueItem]:
    P = Publication
    late = and_(in_period(P.scheduled_at, period), P.late.is_(True), P.sent_at.is_not(None))
    query = (
        select(P, Department.name, Version.title)
        .join(Submission, Submission.id == P.submission_id)
        .join(Department, Department.id == Submission.department_id)
        .join(Version, Version.id == P.version_id)
        .where(late | unsent_overdue(period, now))
        .order_by(P.scheduled_at, P.id)
    )
    items = []
    for pub, dept_name, title in session.execute(scoped(query, dept_id)):
        items.append(
            OverdueItem(
                publication_id=pub.id,
                submission_id=pub.submission_id,
                title=title,
                department=dept_name,
                channel=figures.channel(pub.channel).label,
                scheduled_at=pub.scheduled_at,
                sent_at=pub.sent_at,
                state=State(pub.state).label,
                reason="迟发" if pub.sent_at is not None else "逾期未发",
            )
        )
    return items
