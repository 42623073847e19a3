"""统计: the figures 综合科 keeps, per department, channel and period (Asia/Shanghai calendar).

Every figure comes from a handful of GROUP BY queries; nothing walks the rows in Python.
What each figure counts, and by which time it falls into a period:

- 提交稿件: submissions created in the period.
- 通过/退回/驳回 at each stage: review actions taken in the period, by stage and decision.
- 签发: sign-off approvals taken in the period.
- 发布 (per channel): publications whose published_at is in the period (on an upward platform
  that is its adoption, 采用); 失败 and 撤稿: publications that reached that state in the period.
- 对上报送 / 采用: upward publications sent in the period, and how many of those the platform
  has adopted so far (采用率 = 采用 / 报送, over the same publications).
- 各环节用时: for each review action in the period, the time since the previous action on the
  same version (or since the version was created); median and p90 by nearest rank.
- 逾期: publications due in the period that were sent late (Publication.late), or that are
  still not sent more than OVERDUE_GRACE after their time.

periods     the calendar periods (周, 月, 季度, 年) and how a person names one
figures     the typed result: figures per department, stage and channel, the overdue rows
collect     `build`: the report of one period, from the queries of counts and timings
counts      the GROUP BY queries of submissions, decisions and publications
timings     how long each review stage took, and the decisions past their time limit
tables      the tables the CLI, the console, the workbook and the bulletin show
workbook    the report as .xlsx
"""

from __future__ import annotations

from orchestrator.reports.statistics.collect import build
from orchestrator.reports.statistics.counts import OVERDUE_GRACE, UNSENT_STATES
from orchestrator.reports.statistics.figures import (
    ChannelFigures,
    DepartmentFigures,
    OverdueItem,
    Report,
    StageFigures,
    percent,
    rate,
)
from orchestrator.reports.statistics.periods import (
    PERIOD_KINDS,
    PERIOD_LABELS,
    QUARTER_NAMES,
    SHANGHAI,
    Period,
    period_containing,
    previous_month,
    resolve_period,
)
from orchestrator.reports.statistics.tables import (
    Table,
    channel_table,
    department_table,
    local_time,
    overdue_table,
    ranking_table,
    stage_table,
    tables,
    upward_table,
)
from orchestrator.reports.statistics.workbook import to_xlsx

__all__ = [
    "OVERDUE_GRACE",
    "PERIOD_KINDS",
    "PERIOD_LABELS",
    "QUARTER_NAMES",
    "SHANGHAI",
    "UNSENT_STATES",
    "ChannelFigures",
    "DepartmentFigures",
    "OverdueItem",
    "Period",
    "Report",
    "StageFigures",
    "Table",
    "build",
    "channel_table",
    "department_table",
    "local_time",
    "overdue_table",
    "percent",
    "period_containing",
    "previous_month",
    "ranking_table",
    "rate",
    "resolve_period",
    "stage_table",
    "tables",
    "to_xlsx",
    "upward_table",
]
