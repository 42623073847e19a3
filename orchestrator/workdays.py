"""China's working days, as the office counts them: the public holidays and the 调休 weekends
worked instead, from the State Council's yearly notice as `chinesecalendar` packages it.

A year the package does not know yet (the notice comes out each November; the package follows)
counts Monday to Friday, and `known(day)` says so, so a caller can tell people.

The office can correct or extend it without waiting for the package: SANSHEN_HOLIDAYS_FILE names
a YAML file with `holidays:` (days off) and `workdays:` (weekend days worked, 调休), each a list
of dates; what it says wins over the package.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml

from orchestrator.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")


HOLIDAYS_FILE_VARIABLE = "SANSHEN_HOLIDAYS_FILE"


@cache
def _overrides(path: str) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, days worked) from the office's file; an unreadable file is refused by name."""
    if not path:
        return frozenset(), frozenset()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        holidays = frozenset(date.fromisoformat(str(d)) for d in data.get("holidays") or [])
        worked = frozenset(date.fromisoformat(str(d)) for d in data.get("workdays") or [])
    except (OSError, ValueError, AttributeError, yaml.YAMLError) as error:
        raise InvalidInput(
            f"节假日文件 {path} 无法读取或格式不对"
            f"（应为 holidays:/workdays: 两个日期列表）：{error}",
            code="holidays_file_invalid",
        ) from None
    if holidays & worked:
        both = "、".join(sorted(d.isoformat() for d in holidays & worked))
        raise InvalidInput(
            f"节假日文件 {path} 中 {both} 既是休息日又是工作日", code="holidays_file_invalid"
        )
    return holidays, worked


def overrides() -> tuple[frozenset[date], frozenset[date]]:
    return _overrides(os.environ.get(HOLIDAYS_FILE_VARIABLE, ""))


def known(day: date) -> bool:
    """Whether the holidays of `day`'s year are known (else weekdays stand in for them)."""
    holidays, worked = overrides()
    if any(d.year == day.year for d in holidays | worked):
        return True
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> bool:
    """A working day in China: Monday to Friday except public holidays, plus the 调休 weekend
    days worked in their place; the office's own file (SANSHEN_HOLIDAYS_FILE) first."""
    holidays, worked = overrides()
    if day in holidays:
        return False
    if day in worked:
        return True
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def working_days_after(start: datetime, days: int) -> datetime:
    """The same time of day, `days` working days after `start` (Shanghai calendar)."""
    moment = start.astimezone(SHANGHAI)
    left = days
    while left > 0:
        moment += timedelta(days=1)
        if is_working_day(moment.date()):
            left -= 1
    return moment.astimezone(start.tzinfo or SHANGHAI)


HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def day_note(day: date) -> str | None:
    """What the calendar marks on `day`: a public holiday's name (休), 调休上班 on a weekend day
    worked instead, or None for an ordinary day (a weekend is not marked)."""
    weekend = day.weekday() >= 5
    if is_working_day(day):
        return "调休上班" if weekend else None
    if weekend:
        try:
            _, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return None
        return HOLIDAY_NAMES.get(name, name) if name else None
    try:
        _, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        name = None
    return HOLIDAY_NAMES.get(name, name) if name else "休息日"
