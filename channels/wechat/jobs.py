"""Where one freepublish job stands (`PublishJob`), from freepublish/get or the callback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channels.base import RemoteState, Status
from channels.errors import Unavailable
from channels.wechat.errors import NAME, garbage

# freepublish/get's publish_status (and the callback's) -> our state and a Chinese reason.
PUBLISH_STATUSES: Mapping[int, tuple[RemoteState, str]] = {
    0: (RemoteState.PUBLISHED, ""),
    1: (RemoteState.SUBMITTED, "发表中"),
    2: (RemoteState.REJECTED, "原创声明失败"),
    3: (RemoteState.REJECTED, "发表失败（常规失败）"),
    4: (RemoteState.REJECTED, "平台审核不通过"),
    5: (RemoteState.RETRACTED, "发表成功后已被删除"),
    6: (RemoteState.REJECTED, "发表成功后被系统封禁"),
}


@dataclass(frozen=True, slots=True)
class PublishJob:
    """Where one freepublish job stands, from freepublish/get or the PUBLISHJOBFINISH event."""

    publish_id: str
    state: RemoteState
    reason: str = ""
    article_id: str = ""
    urls: tuple[str, ...] = ()
    event: str = ""  # the callback's event name; empty when polled

    @property
    def status(self) -> Status:
        return Status(self.state, url=self.urls[0] if self.urls else "", reason=self.reason)


CallbackResult = PublishJob  # what `parse_callback` returns


def job_for(
    publish_id: str,
    code: int,
    *,
    fail_idx: list[int],
    article_id: str = "",
    urls: tuple[str, ...] = (),
    event: str = "",
) -> PublishJob:
    """The job a publish_status code (and, on failure, its failed article indexes) says."""
    if code not in PUBLISH_STATUSES:
        raise Unavailable(f"微信返回了未知的发布状态 {code}", channel=NAME)
    state, reason = PUBLISH_STATUSES[code]
    if fail_idx and code in (2, 4):
        reason += "（第 " + "、".join(map(str, fail_idx)) + " 篇）"
    return PublishJob(publish_id, state, reason, article_id, urls, event)


def polled_job(publish_id: str, answer: Mapping[str, Any]) -> PublishJob:
    """The job as freepublish/get's answer describes it."""
    try:
        code = int(answer["publish_status"])
        items = (answer.get("article_detail") or {}).get("item") or []
        urls = tuple(str(i["article_url"]) for i in items if i.get("article_url"))
        fail_idx = [int(i) for i in answer.get("fail_idx") or []]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise garbage(changes_state=False) from exc
    article_id = str(answer.get("article_id") or "")
    return job_for(publish_id, code, fail_idx=fail_idx, article_id=article_id, urls=urls)
