"""How an alert reads: the kinds' names, the channels' display names, and each condition's
message (Chinese, clipped)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from orchestrator.models import Publication
from orchestrator.states import State

SHANGHAI = ZoneInfo("Asia/Shanghai")
KIND_LABELS = {
    "failed": "发布失败",
    "unconfirmed": "结果未确认",
    "overdue": "逾期未发",
    "held": "待上级采用逾期",
    "integrity": "完整性告警",
    "takedown": "待人工撤下逾期",
    "live_mismatch": "线上页面不一致",
    "live_removed": "线上页面被删除",
    "still_live": "撤稿后页面仍在",
    "live_unreachable": "线上页面无法访问",
}
DETAIL_CHARS = 300


@cache
def _display_names() -> dict[str, str]:
    from channels.registry import load_channels

    try:
        return {name: cls.display_name for name, cls in load_channels().items()}
    except Exception:  # a broken plug-in must not silence alerts about the others
        return {}


def channel_label(channel: str) -> str:
    return _display_names().get(channel, channel)


def clip(text: str | None, limit: int = DETAIL_CHARS) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(kind: str, pub: Publication, title: str, now: datetime) -> str:
    where = f"《{title}》（{channel_label(pub.channel)}）"
    if kind == "failed":
        return f"{where}发布失败：{clip(pub.last_error) or '未记录原因'}"
    if kind == "unconfirmed":
        reason = clip(pub.last_error or pub.note) or "平台迟迟未给出结果"
        return f"{where}发布结果未确认，请到平台后台核对后处理：{reason}"
    if kind == "held" and pub.hold_until is not None:
        since = pub.hold_until.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        return (
            f"{where}等待上级平台采用已到期（{since}）仍未采用：请综合科决定放行"
            "（作为本单位稿件发布）或撤下"
        )
    if kind == "takedown":
        minutes = int((now - pub.state_changed_at).total_seconds() // 60)
        return (
            f"{where}撤稿要求已下达 {minutes} 分钟，平台上的页面仍待人工撤下：请到平台后台"
            f"删除该稿件（{pub.url or '无链接'}）"
        )
    minutes = int((now - pub.scheduled_at).total_seconds() // 60)
    planned = pub.scheduled_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return (
        f"{where}原定 {planned} 发布，已过 {minutes} 分钟仍未发出"
        f"（当前状态：{State(pub.state).label}）"
    )
