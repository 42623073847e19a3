"""What a calendar view is made of: its days, its lanes (one per channel), its blocks (a
publication row at its time, or a planned 审批表 row of an item in review) and the 改期
requests waiting on them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from orchestrator.services import amendments

PLANNED = "planned"  # the state of a block of an item still in review


@dataclass(frozen=True)
class Pending:
    """A 改期 request waiting for the 宣传分管领导's signature."""

    id: int
    new_date: date
    at_time: str | None
    requested_by: str
    comment: str


@dataclass(frozen=True)
class Block:
    day: date  # the Shanghai day it stands on
    at: datetime | None  # the scheduled moment (UTC); None for a planned block (a whole day)
    channel: str
    state: str  # a State value, or PLANNED
    submission_id: int
    title: str
    department: str
    repost: bool
    publication_id: int | None = None
    request: Pending | None = None

    @property
    def planned(self) -> bool:
        return self.state == PLANNED

    @property
    def movable(self) -> bool:
        """Can still be moved or cancelled: waiting for its time (or held for an adoption)."""
        return self.publication_id is not None and self.state in amendments.WAITING

    @property
    def key(self) -> str:
        return (
            f"pub-{self.publication_id}"
            if self.publication_id
            else (f"plan-{self.submission_id}-{self.channel}")
        )


@dataclass(frozen=True)
class Day:
    date: date
    note: str | None  # 国庆节, 调休上班, …
    working: bool
    today: bool


@dataclass(frozen=True)
class Lane:
    channel: str
    label: str
    limit: int | None  # items a day before the day is crowded (None: no limit set)


@dataclass(frozen=True)
class Calendar:
    start: date
    end: date  # exclusive
    days: list[Day]
    lanes: list[Lane]
    blocks: list[Block]
    load: Counter[tuple[str, date]] = field(default_factory=Counter)
    hidden: Counter[date] = field(default_factory=Counter)  # rows a day not among the blocks

    def more(self, day: date, shown: int) -> int:
        """How many of `day`'s rows are not among its first `shown` blocks."""
        return max(len(self.on(day)) - shown, 0) + self.hidden[day]

    def cell(self, channel: str, day: date) -> list[Block]:
        return [b for b in self.on(day) if b.channel == channel]

    def on(self, day: date) -> list[Block]:
        return self._by_day.get(day, [])

    def incoming(self, channel: str, day: date) -> list[Block]:
        """Rows with a pending 改期 request to `day` (shown there as dashed, until signed)."""
        return self._requested.get((channel, day), [])

    def crowded(self, channel: str, day: date) -> bool:
        limit = self.limit_of(channel)
        return limit is not None and self.load[(channel, day)] > limit

    def limit_of(self, channel: str) -> int | None:
        return next((lane.limit for lane in self.lanes if lane.channel == channel), None)

    @cached_property
    def _by_day(self) -> dict[date, list[Block]]:
        found: dict[date, list[Block]] = {}
        for block in self.blocks:
            found.setdefault(block.day, []).append(block)
        return found

    @cached_property
    def _requested(self) -> dict[tuple[str, date], list[Block]]:
        found: dict[tuple[str, date], list[Block]] = {}
        for block in self.blocks:
            if block.request is not None:
                found.setdefault((block.channel, block.request.new_date), []).append(block)
        return found
