"""GET /api/v1/calendar: the 排期日历's blocks, the same as the page and the .ics feed show."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from orchestrator.services import calendar
from orchestrator.web.deps import Who, get_app
from orchestrator.web.pages_calendar import office_view
from orchestrator.web.refusals import ApiRoute, refusals
from orchestrator.web.schemas import ChannelName, Day
from orchestrator.web.v1.shared import iso_day

# No answer_other_methods here (unlike the other resources): another method on /calendar gets
# Starlette's own 405, as it always has.
router = APIRouter(prefix="/api/v1", tags=["排期日历"], route_class=ApiRoute)


class PendingOut(BaseModel):
    id: int
    new_date: date
    at_time: str | None = Field(description="新的发布时间（上海，HH:MM）；空：保持原时间")
    requested_by: str


class BlockOut(BaseModel):
    kind: Literal["publication", "planned"] = Field(
        description="publication：已排期的发布；planned：审核中稿件按审批表日期的计划"
    )
    day: date = Field(description="上海日历日")
    at: datetime | None = Field(description="计划发布时间（UTC）；planned 为空")
    channel: str
    state: str = Field(description="发布状态；planned 为 planned")
    submission_id: int
    publication_id: int | None
    title: str
    department: str
    repost: bool = Field(description="转载")
    pending_date_change: PendingOut | None = Field(description="待宣传分管领导签署的改期申请")


class DayOut(BaseModel):
    day: date
    working: bool = Field(description="工作日（含调休上班）")
    note: str | None = Field(description="节假日名称或“调休上班”")


class LoadOut(BaseModel):
    channel: str
    day: date
    count: int
    limit: int | None
    crowded: bool


class CalendarOut(BaseModel):
    start: date
    end: date = Field(description="结束日期（含）")
    days: list[DayOut]
    blocks: list[BlockOut]
    load: list[LoadOut] = Field(description="有排期的渠道和日期的条数，与每日数量比较")


def _day(text: str | None, name: str, default: date) -> date:
    return default if text is None else iso_day(text, f"{name}“{text}”不是有效日期")


@router.get(
    "/calendar",
    response_model=CalendarOut,
    responses=refusals(422),
    summary="排期日历（按日期范围，默认本周）",
)
def get_calendar(
    _who: Who,
    date_from: Annotated[Day | None, Query(alias="from", description="开始日期（含）")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="结束日期（含）")] = None,
    channel: Annotated[ChannelName | None, Query(description="只看一个渠道")] = None,
) -> CalendarOut:
    monday, _ = calendar.week_of(calendar.shanghai_today())
    start = _day(date_from, "开始日期", monday)
    end = _day(date_to, "结束日期", start + timedelta(days=6))
    with get_app().db.read() as session:
        cal = office_view(session, start, end + timedelta(days=1), channel=channel)
    return CalendarOut(
        start=start,
        end=end,
        days=[DayOut(day=d.date, working=d.working, note=d.note) for d in cal.days],
        blocks=[
            BlockOut(
                kind="planned" if b.planned else "publication",
                day=b.day,
                at=b.at,
                channel=b.channel,
                state=b.state,
                submission_id=b.submission_id,
                publication_id=b.publication_id,
                title=b.title,
                department=b.department,
                repost=b.repost,
                pending_date_change=PendingOut(
                    id=b.request.id,
                    new_date=b.request.new_date,
                    at_time=b.request.at_time,
                    requested_by=b.request.requested_by,
                )
                if b.request
                else None,
            )
            for b in cal.blocks
        ],
        load=[
            LoadOut(
                channel=c,
                day=d,
                count=n,
                limit=cal.limit_of(c),
                crowded=cal.crowded(c, d),
            )
            for (c, d), n in sorted(cal.load.items(), key=lambda item: (item[0][1], item[0][0]))
        ],
    )
