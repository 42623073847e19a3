"""The monthly bulletin (通报): beat runs it on the 1st at 08:00 Shanghai for the month before.

Thin: pick the period, call the bulletin service, report what it did. The service archives a
month's bulletin once, so a second run (beat catching up, a person re-running it) stores nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orchestrator.app import App
from orchestrator.reports import bulletin
from orchestrator.reports import statistics as st
from orchestrator.settings import get_settings
from tasks.app import app


@app.task(name="sanshen.monthly_bulletin")
def monthly_bulletin(month: str | None = None) -> dict[str, Any]:
    """`month` like 2026-10; by default the month before now (Asia/Shanghai)."""
    return issue(month)


def hand_over() -> None:
    """`sanshen scheduler`'s hourly check, run on a worker: rendering a month's bulletin is
    seconds of CPU that, in the scheduler's process, held up its dispatch loop (bench/
    schedule.py: every late row of a run fell in the second the first check rendered one). A
    check no worker took within the hour is dropped; the next one does its work."""
    monthly_bulletin.apply_async(expires=BULLETIN_CHECK_EVERY)


BULLETIN_CHECK_EVERY = 3600.0  # seconds between the scheduler's checks


def issue(month: str | None = None, *, now: datetime | None = None) -> dict[str, Any]:
    period = (
        st.resolve_period("month", month) if month else st.previous_month(now or datetime.now(UTC))
    )
    application = App(get_settings())
    try:
        issued = bulletin.issue(application, period, actor="system")
    finally:
        application.db.dispose()
    return {
        "period": period.key,
        "created": issued.created,
        "entries": [e.id for e in issued.entries],
    }
