"""统计周期: a calendar week, month, quarter or year in Shanghai, as [start, end) in UTC, and
how a person names one (2026, 2026-Q4, 2026-10, 2026-W43, or a day inside it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from orchestrator.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD_KINDS = ("week", "month", "quarter", "year")
PERIOD_LABELS = {"week": "周", "month": "月", "quarter": "季度", "year": "年"}
QUARTER_NAMES = ("一", "二", "三", "四")


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
