"""排期日历 in the console: the week and month grid, moves and 改期 requests, the .ics feed.

The routes live in orchestrator.web.console (calendar_view, calendar_moves, calendar_feeds);
this router gathers them in the order they are matched. `office_view` is the calendar the
console and the REST API both show.
"""

from __future__ import annotations

from orchestrator.web.console import calendar_feeds, calendar_moves, calendar_view
from orchestrator.web.console.calendar_view import office_view
from orchestrator.web.console.routers import gathered

__all__ = ["office_view", "router"]

router = gathered(calendar_view.router, calendar_moves.router, calendar_feeds.router)
