"""What the /api/v1 resources share: paging parameters, times as people read them (上海时间),
the channel table, and the checks of a department code, a channel name or a day in a query.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import ChannelKind
from channels.registry import load_channels
from orchestrator.errors import InvalidInput
from orchestrator.models import Department

SHANGHAI = ZoneInfo("Asia/Shanghai")

Page = Annotated[int, Query(ge=1, le=1_000_000, description="页码，从 1 开始")]
PerPage = Annotated[int, Query(ge=1, le=200, description="每页条数，最多 200")]


def utc_now() -> datetime:
    return datetime.now(UTC)


def local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def local_or_none(value: datetime | None) -> str | None:
    return None if value is None else local(value)


@cache
def channel_table() -> dict[str, tuple[str, ChannelKind]]:
    """Each channel's name: its display name and kind."""
    return {name: (cls.display_name, cls.kind) for name, cls in load_channels().items()}


def channel_label(name: str) -> str:
    return channel_table().get(name, (name, ChannelKind.OWN))[0]


def check_channel(name: str) -> str:
    if name not in channel_table():
        known = "、".join(f"{label}（{n}）" for n, (label, _) in channel_table().items())
        raise InvalidInput(f"未知发布渠道“{name}”。可用渠道：{known}", code="unknown_channel")
    return name


def check_department(session: Session, code: str) -> Department:
    found = session.scalar(select(Department).where(Department.code == code))
    if found is None:
        raise InvalidInput(f"科室/窗口“{code}”不存在", code="unknown_department")
    return found


def iso_day(text: str, refusal: str) -> date:
    """A YYYY-MM-DD day from a query; one that does not exist (2026-13-01) is bad input, with
    the caller's message."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(refusal, code="bad_date") from None
