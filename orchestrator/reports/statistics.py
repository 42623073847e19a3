"""统计: the figures 综合科 keeps, per department, channel and period (Asia/Shanghai calendar).

Every figure comes from a handful of GROUP BY queries; nothing walks the rows in Python.
What each figure counts, and by which time it falls into a period:

- 提交稿件: submissions created in the period.
- 通过/退回/驳回 at each stage: review actions taken in the period, by stage and decision.
- 签发: sign-off approvals taken in the period.
- 发布 (per channel): publications whose published_at is in the period (on an upward platform
  that is its adoption, 采用); 失败 and 撤稿: publications that reached that state in the period.
- 对上报送 / 采用: upward publications sent in the period, and how many of those the platform
  has adopted so far (采用率 = 采用 / 报送, over the same publications).
- 各环节用时: for each review action in the period, the time since the previous action on the
  same version (or since the version was created); median and p90 by nearest rank.
- 逾期: publications due in the period that were sent late (Publication.late), or that are
  still not sent more than OVERDUE_GRACE after their time.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from channels.base import ChannelKind
from channels.registry import load_channels
from gate.model import STAGE_LABELS, STAGE_ORDER, Decision, ReviewStage
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.models import Department, Publication, ReviewAction, Submission, Version
from orchestrator.states import State

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD_KINDS = ("week", "month", "quarter", "year")
PERIOD_LABELS = {"week": "周", "month": "月", "quarter": "季度", "year": "年"}
OVERDUE_GRACE = timedelta(minutes=10)
UNSENT_STATES = (State.SCHEDULED.value, State.QUEUED.value, State.MANUAL.value, State.FAILED.value)
QUARTER_NAMES = ("一", "二", "三", "四")


# --- periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, for a calendar week, month, quarter or year in Shanghai."""

    kind: str
    key: str  # 2026-W43, 2026-10, 2026-Q4, 2026
    label: str  # 2026年第43周, 2026年10月, 2026年第四季度, 2026年
    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        return self.start.astimezone(SHANGHAI).date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(seconds=1)).astimezone(SHANGHAI).date()


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_containing(kind: str, day: date) -> Period:
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        year, week, _ = first.isocalendar()
        return Period(
            kind, f"{year}-W{week:02d}", f"{year}年第{week}周", _utc(first),
            _utc(first + timedelta(days=7)),
        )  # fmt: skip
    if kind == "month":
        first = date(day.year, day.month, 1)
        return Period(
            kind, f"{day.year}-{day.month:02d}", f"{day.year}年{day.month}月", _utc(first),
            _utc(_add_months(first, 1)),
        )  # fmt: skip
    if kind == "quarter":
        q = (day.month - 1) // 3
        first = date(day.year, q * 3 + 1, 1)
        return Period(
            kind, f"{day.year}-Q{q + 1}", f"{day.year}年第{QUARTER_NAMES[q]}季度", _utc(first),
            _utc(_add_months(first, 3)),
        )  # fmt: skip
    if kind == "year":
        return Period(
            kind, f"{day.year}", f"{day.year}年", _utc(date(day.year, 1, 1)),
            _utc(date(day.year + 1, 1, 1)),
        )  # fmt: skip
    raise InvalidInput(
        f"统计周期“{kind}”无效，可选：week（周）、month（月）、quarter（季度）、year（年）",
        code="bad_period",
    )


_FORMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})-Q([1-4])$", re.I), "quarter"),
    (re.compile(r"^(\d{4})-W(\d{1,2})$", re.I), "week"),
    (re.compile(r"^(\d{4})-(\d{1,2})$"), "month"),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), "day"),
]


def _parse_at(text: str) -> tuple[date, str | None]:
    """The first day named by `text`, and the period kind its form implies (None for a day)."""
    for pattern, form in _FORMS:
        m = pattern.match(text.strip())
        if not m:
            continue
        year = int(m.group(1))
        try:
            if form == "year":
                return date(year, 1, 1), "year"
            if form == "quarter":
                return date(year, int(m.group(2)) * 3 - 2, 1), "quarter"
            if form == "week":
                return date.fromisocalendar(year, int(m.group(2)), 1), "week"
            if form == "month":
                return date(year, int(m.group(2)), 1), "month"
            return date(year, int(m.group(2)), int(m.group(3))), None
        except ValueError:
            break
    raise InvalidInput(
        f"时间“{text}”无效，可写 2026、2026-Q4、2026-10、2026-W43 或 2026-10-15",
        code="bad_period_at",
    )


def resolve_period(kind: str | None, at: str | None, *, now: datetime | None = None) -> Period:
    """The period of `kind` containing `at` (default: now). Without a kind, `at`'s form decides
    (2026-Q4 is a quarter), else a month."""
    if at:
        day, implied = _parse_at(at)
    else:
        day, implied = (now or datetime.now(UTC)).astimezone(SHANGHAI).date(), None
    return period_containing(kind or implied or "month", day)


def previous_month(now: datetime) -> Period:
    first = now.astimezone(SHANGHAI).date().replace(day=1)
    return period_containing("month", first - timedelta(days=1))


# --- the typed result -------------------------------------------------------------------------


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


# --- queries ----------------------------------------------------------------------------------


def _in(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _seconds(dialect: str, later: Any, earlier: Any) -> Any:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


class _Figures:
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
    figures = _Figures(session)
    _submitted(session, period, dept_id, figures)
    stages = _decisions(session, period, dept_id, figures)
    _publications(session, period, dept_id, figures, now)
    _timings(session, period, dept_id, stages)
    _limits(session, period, dept_id, stages)
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
        overdue=_overdue(session, period, dept_id, figures, now),
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


def _scoped(query: Any, dept_id: int | None) -> Any:
    return query if dept_id is None else query.where(Submission.department_id == dept_id)


def _submitted(session: Session, period: Period, dept_id: int | None, figures: _Figures) -> None:
    query = (
        select(Department.code, func.count(Submission.id))
        .join(Department, Department.id == Submission.department_id)
        .where(_in(Submission.created_at, period))
        .group_by(Department.code)
    )
    for code, count in session.execute(_scoped(query, dept_id)):
        figures.department(code).submitted = count


def _decisions(
    session: Session, period: Period, dept_id: int | None, figures: _Figures
) -> dict[str, StageFigures]:
    stages = {s.value: StageFigures(s.value, STAGE_LABELS[s]) for s in STAGE_ORDER}
    query = (
        select(Department.code, ReviewAction.stage, ReviewAction.decision, func.count())
        .join(Submission, Submission.id == ReviewAction.submission_id)
        .join(Department, Department.id == Submission.department_id)
        .where(_in(ReviewAction.acted_at, period))
        .group_by(Department.code, ReviewAction.stage, ReviewAction.decision)
    )
    for code, stage, decision, count in session.execute(_scoped(query, dept_id)):
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


def _publications(
    session: Session, period: Period, dept_id: int | None, figures: _Figures, now: datetime
) -> None:
    P = Publication
    upward = P.channel.in_(figures.upward_names)
    sent_in = and_(upward, _in(P.sent_at, period))
    due_in = _in(P.scheduled_at, period)
    columns = {
        "published": _count_if(_in(P.published_at, period)),
        "failed": _count_if(and_(P.state == State.FAILED.value, _in(P.state_changed_at, period))),
        "retracted": _count_if(
            and_(P.state == State.RETRACTED.value, _in(P.state_changed_at, period))
        ),
        "submitted": _count_if(sent_in),
        "adopted": _count_if(and_(sent_in, P.published_at.is_not(None))),
        "sent_late": _count_if(and_(due_in, P.late.is_(True), P.sent_at.is_not(None))),
        "overdue_unsent": _count_if(_unsent_overdue(period, now)),
    }
    query = (
        select(Department.code, P.channel, *(c.label(n) for n, c in columns.items()))
        .join(Submission, Submission.id == P.submission_id)
        .join(Department, Department.id == Submission.department_id)
        .where(
            or_(
                _in(P.published_at, period),
                _in(P.state_changed_at, period),
                _in(P.sent_at, period),
                due_in,
            )
        )
        .group_by(Department.code, P.channel)
    )
    for row in session.execute(_scoped(query, dept_id)).mappings():
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


def _unsent_overdue(period: Period, now: datetime) -> ColumnElement[bool]:
    P = Publication
    return and_(
        _in(P.scheduled_at, period),
        P.scheduled_at < now - OVERDUE_GRACE,
        P.sent_at.is_(None),
        P.state.in_(UNSENT_STATES),
    )


def _timings(
    session: Session, period: Period, dept_id: int | None, stages: dict[str, StageFigures]
) -> None:
    """Median and p90 per stage, by nearest rank, computed in the database."""
    RA = ReviewAction
    touched = _scoped(
        select(RA.version_id)
        .join(Submission, Submission.id == RA.submission_id)
        .where(_in(RA.acted_at, period)),
        dept_id,
    )
    previous = func.lag(RA.acted_at).over(partition_by=RA.version_id, order_by=(RA.acted_at, RA.id))
    steps = (
        select(
            RA.stage.label("stage"),
            RA.acted_at.label("acted_at"),
            func.coalesce(previous, Version.created_at).label("since"),
        )
        .join(Version, Version.id == RA.version_id)
        .where(RA.version_id.in_(touched))
        .subquery()
    )
    dialect = session.get_bind().dialect.name
    seconds = _seconds(dialect, steps.c.acted_at, steps.c.since)
    ranked = (
        select(
            steps.c.stage,
            seconds.label("seconds"),
            func.row_number().over(partition_by=steps.c.stage, order_by=seconds).label("rn"),
            func.count().over(partition_by=steps.c.stage).label("n"),
        )
        .where(_in(steps.c.acted_at, period))
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


def _limits(
    session: Session,
    period: Period,
    dept_id: int | None,
    stages: dict[str, StageFigures],
) -> None:
    """Decisions made past their stage's time limit in the period, by the rule the reminders
    follow (services/deadlines): one query; the working-day arithmetic in Python."""
    from orchestrator.reports.archive import app_for
    from orchestrator.services import deadlines  # it reads the review record: a late import

    settings = app_for(session).settings
    RA = ReviewAction
    previous = func.lag(RA.acted_at).over(partition_by=RA.version_id, order_by=(RA.acted_at, RA.id))
    steps = (
        select(
            RA.stage.label("stage"),
            RA.acted_at.label("acted_at"),
            func.coalesce(previous, Version.created_at).label("since"),
            Submission.urgent.label("urgent"),
            Submission.department_id.label("department_id"),
        )
        .join(Version, Version.id == RA.version_id)
        .join(Submission, Submission.id == RA.submission_id)
        .subquery()
    )
    query = select(steps.c.stage, steps.c.acted_at, steps.c.since, steps.c.urgent).where(
        _in(steps.c.acted_at, period)
    )
    if dept_id is not None:
        query = query.where(steps.c.department_id == dept_id)
    for stage, acted_at, since, urgent in session.execute(query):
        if acted_at >= deadlines.due_after(since, bool(urgent), settings):
            stages.setdefault(stage, StageFigures(stage, stage)).overdue += 1


def _hours(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)


def _overdue(
    session: Session, period: Period, dept_id: int | None, figures: _Figures, now: datetime
) -> list[OverdueItem]:
    P = Publication
    late = and_(_in(P.scheduled_at, period), P.late.is_(True), P.sent_at.is_not(None))
    query = (
        select(P, Department.name, Version.title)
        .join(Submission, Submission.id == P.submission_id)
        .join(Department, Department.id == Submission.department_id)
        .join(Version, Version.id == P.version_id)
        .where(late | _unsent_overdue(period, now))
        .order_by(P.scheduled_at, P.id)
    )
    items = []
    for pub, dept_name, title in session.execute(_scoped(query, dept_id)):
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


# --- tables: what the CLI, the console, the workbook and the bulletin show ------------------


@dataclass(frozen=True)
class Table:
    key: str  # sheet name in English-free form, stable for tests
    title: str
    headers: list[str]
    rows: list[list[Any]]


def _hours_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def department_table(report: Report) -> Table:
    stage_heads = [f"{STAGE_LABELS[s]}{what}" for s in STAGE_ORDER for what in ("退回", "驳回")]
    headers = ["科室", "提交稿件", *stage_heads, "签发", "发布", "失败", "撤稿"]
    headers += ["对上报送", "采用", "采用率", "迟发", "逾期未发"]
    rows = [_department_row(d) for d in report.departments]
    if report.departments:
        rows.append(_department_row(report.totals()))
    return Table("departments", "各科室统计", headers, rows)


def _department_row(d: DepartmentFigures) -> list[Any]:
    stages = [n for s in STAGE_ORDER for n in (d.returned[s.value], d.rejected[s.value])]
    return [
        d.name, d.submitted, *stages, d.signed_off, d.published, d.failed, d.retracted,
        d.upward_submitted, d.upward_adopted, percent(d.adoption_rate), d.sent_late,
        d.overdue_unsent,
    ]  # fmt: skip


def stage_table(report: Report) -> Table:
    headers = [
        "审核环节",
        "通过",
        "退回",
        "驳回",
        "计时次数",
        "用时中位数（小时）",
        "用时P90（小时）",
        "超时办理次数",
    ]
    rows = [
        [s.label, s.approved, s.returned, s.rejected, s.timed, _hours_text(s.median_hours),
         _hours_text(s.p90_hours), s.overdue]
        for s in report.stages
    ]  # fmt: skip
    return Table("stages", "各审核环节", headers, rows)


def channel_table(report: Report) -> Table:
    headers = ["发布渠道", "发布（采用）", "失败", "撤稿", "迟发", "逾期未发"]
    rows = [
        [c.label, c.published, c.failed, c.retracted, c.sent_late, c.overdue_unsent]
        for c in report.channels
    ]
    return Table("channels", "各渠道发布", headers, rows)


def upward_table(report: Report) -> Table:
    headers = ["上级平台", "报送", "采用", "采用率"]
    rows = [[c.label, c.submitted, c.adopted, percent(c.adoption_rate)] for c in report.upward]
    if report.upward:
        submitted = sum(c.submitted for c in report.upward)
        adopted = sum(c.adopted for c in report.upward)
        rows.append(["合计", submitted, adopted, percent(rate(adopted, submitted))])
    return Table("upward", "对上报送与采用", headers, rows)


def ranking_table(report: Report) -> Table:
    headers = ["名次", "科室", "对上报送", "采用", "采用率"]
    rows = [
        [i, d.name, d.upward_submitted, d.upward_adopted, percent(d.adoption_rate)]
        for i, d in enumerate(report.ranking(), start=1)
    ]
    return Table("ranking", "采用排名", headers, rows)


def overdue_table(report: Report) -> Table:
    headers = ["发布编号", "稿件", "标题", "科室", "渠道", "计划时间", "发送时间", "状态", "情形"]
    rows = [
        [o.publication_id, o.submission_id, o.title, o.department, o.channel,
         local_time(o.scheduled_at), local_time(o.sent_at), o.state, o.reason]
        for o in report.overdue
    ]  # fmt: skip
    return Table("overdue", "逾期发布", headers, rows)


def local_time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def tables(report: Report) -> list[Table]:
    return [
        department_table(report),
        stage_table(report),
        channel_table(report),
        upward_table(report),
        ranking_table(report),
        overdue_table(report),
    ]


# --- the workbook -----------------------------------------------------------------------------


def to_xlsx(report: Report, *, title: str | None = None) -> bytes:
    """One sheet per table, Chinese headers, and a native bar chart of adoption by department."""
    from openpyxl import Workbook

    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "概况"
    cover.append([title or f"信息发布统计（{report.period.label}）"])
    cover.append(["统计周期", f"{report.period.first_day} 至 {report.period.last_day}"])
    cover.append(["生成时间", local_time(report.generated_at)])
    if report.department_filter:
        cover.append(["科室", report.department_filter])
    if report.is_empty:
        cover.append(["本期无数据"])
    cover.column_dimensions["A"].width = 14
    cover.column_dimensions["B"].width = 30
    for table in tables(report):
        _sheet(book, table)
    _adoption_chart(book, report)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Any, table: Table) -> None:
    from openpyxl.styles import Font

    sheet = book.create_sheet(table.title)
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append(row)
    for i, header in enumerate(table.headers, start=1):
        width = max([len(str(header)) * 2, *(len(str(r[i - 1])) * 2 for r in table.rows)])
        sheet.column_dimensions[sheet.cell(1, i).column_letter].width = min(40, max(8, width))
    sheet.freeze_panes = "A2"


def _adoption_chart(book: Any, report: Report) -> None:
    from openpyxl.chart import BarChart, Reference

    ranked = report.ranking()
    if not ranked:
        return
    sheet = book["采用排名"]
    chart = BarChart()
    chart.type = "col"
    chart.title = "各科室对上报送与采用"
    chart.y_axis.title = "篇数"
    data = Reference(sheet, min_col=3, max_col=4, min_row=1, max_row=len(ranked) + 1)
    names = Reference(sheet, min_col=2, min_row=2, max_row=len(ranked) + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(names)
    chart.height, chart.width = 8, 16
    sheet.add_chart(chart, "G2")
