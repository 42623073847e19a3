"""The statistics as tables: what the CLI, the console, the workbook and the bulletin show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gate.model import STAGE_LABELS, STAGE_ORDER
from orchestrator.reports.statistics.figures import DepartmentFigures, Report, percent, rate
from orchestrator.reports.statistics.periods import SHANGHAI


@dataclass(frozen=True)
class Table:
    key: str  # sheet name in English-free form, stable for tests
    title: str
    headers: list[str]
    rows: list[list[Any]]


def _hours_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def department_table(report: Report) -> Table:
    stage_heads = [f"{STAGE_LABELS[s]}{what}" for s in STAGE_ORDER for what in ("退回", "驳回")]
    headers = ["科室", "提交稿件", *stage_heads, "签发", "发布", "失败", "撤稿"]
    headers += ["对上报送", "采用", "采用率", "迟发", "逾期未发"]
    rows = [_department_row(d) for d in report.departments]
    if report.departments:
        rows.append(_department_row(report.totals()))
    return Table("departments", "各科室统计", headers, rows)


def _department_row(d: DepartmentFigures) -> list[Any]:
    stages = [n for s in STAGE_ORDER for n in (d.returned[s.value], d.rejected[s.value])]
    return [
        d.name, d.submitted, *stages, d.signed_off, d.published, d.failed, d.retracted,
        d.upward_submitted, d.upward_adopted, percent(d.adoption_rate), d.sent_late,
        d.overdue_unsent,
    ]  # fmt: skip


def stage_table(report: Report) -> Table:
    headers = [
        "审核环节",
        "通过",
        "退回",
        "驳回",
        "计时次数",
        "用时中位数（小时）",
        "用时P90（小时）",
        "超时办理次数",
    ]
    rows = [
        [s.label, s.approved, s.returned, s.rejected, s.timed, _hours_text(s.median_hours),
         _hours_text(s.p90_hours), s.overdue]
        for s in report.stages
    ]  # fmt: skip
    return Table("stages", "各审核环节", headers, rows)


def channel_table(report: Report) -> Table:
    headers = ["发布渠道", "发布（采用）", "失败", "撤稿", "迟发", "逾期未发"]
    rows = [
        [c.label, c.published, c.failed, c.retracted, c.sent_late, c.overdue_unsent]
        for c in report.channels
    ]
    return Table("channels", "各渠道发布", headers, rows)


def upward_table(report: Report) -> Table:
    headers = ["上级平台", "报送", "采用", "采用率"]
    rows = [[c.label, c.submitted, c.adopted, percent(c.adoption_rate)] for c in report.upward]
    if report.upward:
        submitted = sum(c.submitted for c in report.upward)
        adopted = sum(c.adopted for c in report.upward)
        rows.append(["合计", submitted, adopted, percent(rate(adopted, submitted))])
    return Table("upward", "对上报送与采用", headers, rows)


def ranking_table(report: Report) -> Table:
    headers = ["名次", "科室", "对上报送", "采用", "采用率"]
    rows = [
        [i, d.name, d.upward_submitted, d.upward_adopted, percent(d.adoption_rate)]
        for i, d in enumerate(report.ranking(), start=1)
    ]
    return Table("ranking", "采用排名", headers, rows)


def overdue_table(report: Report) -> Table:
    headers = ["发布编号", "稿件", "标题", "科室", "渠道", "计划时间", "发送时间", "状态", "情形"]
    rows = [
        [o.publication_id, o.submission_id, o.title, o.department, o.channel,
         local_time(o.scheduled_at), local_time(o.sent_at), o.state, o.reason]
        for o in report.overdue
    ]  # fmt: skip
    return Table("overdue", "逾期发布", headers, rows)


def local_time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def tables(report: Report) -> list[Table]:
    return [
        department_table(report),
        stage_table(report),
        channel_table(report),
        upward_table(report),
        ranking_table(report),
        overdue_table(report),
    ]
