"""The status board's GET parameters (state, channel, department, dates, page) as a filter:
unknown or malformed values are dropped with a problem shown on the board."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from orchestrator.models import Department, Publication
from orchestrator.states import State
from orchestrator.web.templating import SHANGHAI, channel_names


@dataclass(frozen=True)
class BoardFilter:
    """The board's GET parameters; unknown or malformed values are dropped with a problem."""

    state: str = ""
    channel: str = ""
    department: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    problems: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> BoardFilter:
        problems: list[str] = []
        state = params.get("state", "")
        if state and state not in {s.value for s in State}:
            problems.append(f"未知状态“{state}”")
            state = ""
        channel = params.get("channel", "")
        if channel and channel not in channel_names():
            problems.append(f"未知渠道“{channel}”")
            channel = ""

        def day(key: str, label: str) -> date | None:
            text = params.get(key, "").strip()
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                problems.append(f"{label}“{text}”不是有效日期（应为 YYYY-MM-DD）")
                return None

        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            state=state,
            channel=channel,
            department=params.get("department", "")[:64],
            date_from=day("from", "起始日期"),
            date_to=day("to", "截止日期"),
            page=page,
            problems=tuple(problems),
        )

    def query(self, **changes: Any) -> str:
        """The parameters as a query string (page and other fields overridable)."""
        values = {
            "state": self.state,
            "channel": self.channel,
            "department": self.department,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "page": str(self.page) if self.page > 1 else "",
        } | {k: str(v) for k, v in changes.items()}
        if values["page"] == "1":
            values["page"] = ""
        return urlencode({k: v for k, v in values.items() if v})

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.state:
            found.append(Publication.state == self.state)
        if self.channel:
            found.append(Publication.channel == self.channel)
        if self.department:
            found.append(Department.code == self.department)
        if self.date_from:
            found.append(Publication.scheduled_at >= shanghai_midnight(self.date_from))
        if self.date_to:
            found.append(
                Publication.scheduled_at < shanghai_midnight(self.date_to + timedelta(days=1))
            )
        return found


def shanghai_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)
