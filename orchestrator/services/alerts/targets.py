"""Where alerts are posted: the 企业微信 group robot (one markdown digest per round) and a JSON
webhook (one object per alert)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from orchestrator.services.alerts.wording import KIND_LABELS, clip
from orchestrator.states import State


class DeliveryFailed(Exception):
    """A target did not take the alert; the message (Chinese) never carries the URL."""


@dataclass(frozen=True)
class Notice:
    """What is sent: the alert and its publication as they are now."""

    alert_id: int
    kind: str
    publication_id: int | None
    channel: str | None
    title: str | None
    state: str | None
    message: str
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "publication_id": self.publication_id,
            "channel": self.channel,
            "title": self.title,
            "state": self.state,
            "message": self.message,
            "at": self.at.isoformat(),
        }


class Target:
    """Where alerts go. `deliver` posts a round's notices and tells, per alert, what failed."""

    label = ""

    def __init__(self, url: str) -> None:
        self.url = url

    def __repr__(self) -> str:  # the URL may hold a key: never printed
        return f"{type(self).__name__}(url=***)"

    def deliver(self, notices: Sequence[Notice], timeout: float) -> dict[int, str | None]:
        raise NotImplementedError

    def check(self, response: requests.Response) -> None:
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"{self.label}返回 HTTP {response.status_code}")

    def post(self, body: dict[str, Any], timeout: float) -> str | None:
        """One POST; None when the target took it, else why not (Chinese, without the URL)."""
        try:
            self.check(requests.post(self.url, json=body, timeout=timeout))
        except requests.RequestException as exc:
            return f"无法连接{self.label}（{type(exc).__name__}）"
        except DeliveryFailed as exc:
            return str(exc)
        return None


class WeComRobot(Target):
    """企业微信群机器人: HTTP 200 with errcode 0 is the only success. A robot takes at most 20
    messages a minute, so a round's alerts go out as one markdown digest (split only where
    one would pass the 4096-byte limit)."""

    label = "企业微信群机器人"
    max_bytes = 4096

    @staticmethod
    def section(notice: Notice) -> str:
        kind = KIND_LABELS.get(notice.kind, notice.kind)
        lines = [f'**<font color="warning">{kind}</font>** {clip(notice.message, 600)}']
        if notice.state:
            lines.append(f"> 当前状态：{State(notice.state).label}")
        lines.append(f"> 告警 #{notice.alert_id} · 发布 #{notice.publication_id}")
        return "\n".join(lines)

    def digests(self, notices: Sequence[Notice]) -> Iterator[tuple[list[Notice], str]]:
        group: list[Notice] = []
        content = ""
        for notice in notices:
            section = self.section(notice)
            joined = f"{content}\n\n{section}" if content else section
            if group and len(joined.encode()) > self.max_bytes:
                yield group, content
                group, joined = [], section
            group.append(notice)
            content = joined
        if group:
            yield group, content

    def deliver(self, notices: Sequence[Notice], timeout: float) -> dict[int, str | None]:
        results: dict[int, str | None] = {}
        for group, content in self.digests(notices):
            body = {"msgtype": "markdown", "markdown": {"content": content}}
            results |= dict.fromkeys((n.alert_id for n in group), self.post(body, timeout))
        return results

    def check(self, response: requests.Response) -> None:
        super().check(response)
        try:
            reply = response.json()
        except ValueError:
            raise DeliveryFailed(f"{self.label}的应答不是 JSON") from None
        code = reply.get("errcode") if isinstance(reply, dict) else None
        if code != 0:
            message = clip(str(reply.get("errmsg", "")) if isinstance(reply, dict) else "", 200)
            raise DeliveryFailed(f"{self.label}拒收：errcode={code} {message}".rstrip())


class JsonWebhook(Target):
    """One JSON object per alert."""

    label = "告警 Webhook"

    def deliver(self, notices: Sequence[Notice], timeout: float) -> dict[int, str | None]:
        return {n.alert_id: self.post(n.as_json(), timeout) for n in notices}
