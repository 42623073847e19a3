"""China's working days, as the office counts them: the public holidays and the 调休 weekends
worked instead, from the State Council's yearly notice as `chinesecalendar` packages it.

A year the package does not know yet (the notice comes out each November; the package follows)
counts Monday to Friday, and `known(day)` says so, so a caller can tell people.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def known(day: date) -> bool:
    """Whether the holidays of `day`'s year are known (else weekdays stand in for them)."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> bool:
    """A working day in China: Monday to Friday except public holidays, plus the 调休 weekend
    days worked in their place."""
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
