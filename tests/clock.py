"""Calendar days as the office counts them: in Asia/Shanghai, whatever the machine's clock zone.

Publish dates are Shanghai dates (the services check them against Shanghai's today). A test that
took UTC's date instead was a day behind from 16:00 to 24:00 UTC and saw its own content refused
as "已过". These are functions, not constants, so a suite running across Shanghai's midnight asks
for the day when it needs it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_today() -> date:
    return datetime.now(UTC).astimezone(SHANGHAI).date()


def shanghai_tomorrow() -> date:
    return shanghai_today() + timedelta(days=1)
