"""Alerts: publications that failed, went unconfirmed or are overdue, told to people once.

scan(session, now=..., overdue_after=...)   new Alert rows, one per condition (dedup_key)
deliver_due(db, config)                     post pending alerts to the webhooks, with backoff
run_once(app)                               both; the scheduler calls it every round
acknowledge(session, alert_id, actor=...)   someone has seen it (the console)

An alert is keyed by kind, publication and the publication's revision, which every state change
bumps: a publication that fails, is sent again and fails again alerts twice; one that stays
failed alerts once however often the scan runs. The unique key makes concurrent scans safe.
Delivery is at least once: a retry posts again to every configured target. The 企业微信
robot gets one digest per round; the JSON webhook one object per alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import requests
from pydantic import SecretStr
from sqlalchemy import String, cast, exists, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from gate.model import Role
from orchestrator import audit
from orchestrator.app import App
from orchestrator.db import Database
from orchestrator.errors import Forbidden, NotFound, SanshenError
from orchestrator.models import Alert, Publication, Version
from orchestrator.permissions import holds
from orchestrator.services.org import person_by_username
from orchestrator.settings import Settings
from orchestrator.states import State

log = logging.getLogger("sanshen.alerts")
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
# Gate findings that mean a record was altered outside the product, not an unfinished review.
INTEGRITY_CODES = frozenset(
    {
        "publication_origin",
        "publication_channel_not_signed",
        "publication_date_not_signed",
        "publication_time_invalid",
        "image_bytes_changed",
        "image_missing",
        "signature_invalid",
        "amendment_invalid",
    }
)
# 待人工发布 too: a person was to publish it by hand at its time
OVERDUE_STATES = (State.SCHEDULED.value, State.QUEUED.value, State.MANUAL.value)
ACKNOWLEDGERS = frozenset({Role.WEB_OPERATIONS, Role.GENERAL_OFFICE, Role.OPERATOR})
LEASE = timedelta(seconds=120)  # a claimed delivery is not taken by another scheduler meanwhile
SCAN_LIMIT = 500
# Failures older than this were alerted when they happened, or predate alerting (first start).
LOOKBACK = timedelta(days=7)
DETAIL_CHARS = 300


@dataclass(frozen=True)
class AlertConfig:
    wecom_url: str = ""
    webhook_url: str = ""
    overdue_after: float = 900.0
    max_attempts: int = 8
    base_delay: float = 30.0
    max_delay: float = 3600.0
    timeout: float = 5.0
    batch: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertConfig:
        def secret(value: SecretStr | None) -> str:
            return value.get_secret_value() if value is not None else ""

        return cls(
            wecom_url=secret(settings.alert_wecom_url),
            webhook_url=secret(settings.alert_webhook_url),
            overdue_after=settings.alert_overdue_after,
            max_attempts=settings.alert_max_attempts,
            base_delay=settings.alert_retry_base_delay,
            max_delay=settings.alert_retry_max_delay,
        )

    def targets(self) -> list[Target]:
        found: list[Target] = []
        if self.wecom_url:
            found.append(WeComRobot(self.wecom_url))
        if self.webhook_url:
            found.append(JsonWebhook(self.webhook_url))
        return found

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.max_delay, self.base_delay * 2 ** (attempts - 1)))


# --- the scan --------------------------------------------------------------------------------


def _key(kind: str) -> ColumnElement[str]:
    return (
        literal(f"{kind}:", String)
        + cast(Publication.id, String)
        + literal(":", String)
        + cast(Publication.revision, String)
    )


def _conditions(now: datetime, overdue_after: float) -> dict[str, ColumnElement[bool]]:
    recent = Publication.state_changed_at > now - LOOKBACK
    return {
        "failed": (Publication.state == State.FAILED.value) & recent,
        "unconfirmed": (Publication.state == State.UNCONFIRMED.value) & recent,
        "overdue": Publication.state.in_(OVERDUE_STATES)
        & (Publication.scheduled_at < now - timedelta(seconds=overdue_after)),
        "held": (Publication.state == State.HELD.value) & (Publication.hold_until < now),
        "takedown": (Publication.state == State.TAKEDOWN.value)
        & (Publication.state_changed_at < now - timedelta(seconds=overdue_after)),
    }


@cache
def _display_names() -> dict[str, str]:
    from channels.registry import load_channels

    try:
        return {name: cls.display_name for name, cls in load_channels().items()}
    except Exception:  # a broken plug-in must not silence alerts about the others
        return {}


def channel_label(channel: str) -> str:
    return _display_names().get(channel, channel)


def _clip(text: str | None, limit: int = DETAIL_CHARS) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(kind: str, pub: Publication, title: str, now: datetime) -> str:
    where = f"《{title}》（{channel_label(pub.channel)}）"
    if kind == "failed":
        return f"{where}发布失败：{_clip(pub.last_error) or '未记录原因'}"
    if kind == "unconfirmed":
        reason = _clip(pub.last_error or pub.note) or "平台迟迟未给出结果"
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


def scan(session: Session, *, now: datetime, overdue_after: float) -> list[int]:
    """Insert an alert for each condition not alerted yet; return the new alerts' ids."""
    created: list[int] = []
    for kind, condition in _conditions(now, overdue_after).items():
        key = _key(kind)
        rows = session.execute(
            select(Publication, Version.title, key)
            .join(Version, Version.id == Publication.version_id)
            .where(condition, ~exists().where(Alert.dedup_key == key))
            .order_by(Publication.id)
            .limit(SCAN_LIMIT)
        ).all()
        for pub, title, dedup_key in rows:
            alert = Alert(
                dedup_key=dedup_key,
                kind=kind,
                publication_id=pub.id,
                message=describe(kind, pub, title, now),
                created_at=now,
            )
            if insert_once(session, alert):
                created.append(alert.id)
    return created


def raise_integrity(session: Session, pub_id: int, refusal: SanshenError, *, now: datetime) -> bool:
    """An alert at once when the send-time gate found the record altered (a row the sign-off
    did not create, a channel or date nobody signed, changed image bytes or signatures)."""
    codes = set(getattr(refusal, "details", None) or [])
    if not codes & INTEGRITY_CODES:
        return False
    pub = session.get(Publication, pub_id)
    if pub is None:
        return False
    title = session.scalar(select(Version.title).where(Version.id == pub.version_id)) or ""
    alert = Alert(
        dedup_key=f"integrity:{pub.id}:{pub.revision}",
        kind="integrity",
        publication_id=pub.id,
        message=f"《{title}》（{channel_label(pub.channel)}）发送前复核发现记录被改动，已拒绝发送："
        + _clip(refusal.message),
        created_at=now,
    )
    return insert_once(session, alert)


def insert_once(session: Session, alert: Alert) -> bool:
    """Add the alert unless its dedup_key exists already (another scan was first)."""
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return False
    return True


# --- delivery --------------------------------------------------------------------------------


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
        lines = [f'**<font color="warning">{kind}</font>** {_clip(notice.message, 600)}']
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
            message = _clip(str(reply.get("errmsg", "")) if isinstance(reply, dict) else "", 200)
            raise DeliveryFailed(f"{self.label}拒收：errcode={code} {message}".rstrip())


class JsonWebhook(Target):
    """One JSON object per alert."""

    label = "告警 Webhook"

    def deliver(self, notices: Sequence[Notice], timeout: float) -> dict[int, str | None]:
        return {n.alert_id: self.post(n.as_json(), timeout) for n in notices}


def _claim(db: Database, now: datetime, batch: int) -> list[Notice]:
    due = (Alert.delivery_state == "pending") & or_(
        Alert.next_try_at.is_(None), Alert.next_try_at <= now
    )
    with db.session() as session:
        rows = session.execute(
            select(Alert, Publication.channel, Publication.state, Version.title)
            .outerjoin(Publication, Publication.id == Alert.publication_id)
            .outerjoin(Version, Version.id == Publication.version_id)
            .where(due)
            .order_by(Alert.id)
            .limit(batch)
        ).all()
        notices = []
        for alert, channel, state, title in rows:
            taken = session.execute(
                update(Alert)
                .where(Alert.id == alert.id, due)
                .values(next_try_at=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                notices.append(
                    Notice(
                        alert.id,
                        alert.kind,
                        alert.publication_id,
                        channel,
                        title,
                        state,
                        alert.message,
                        alert.created_at,
                    )
                )
        return notices


def _record(
    db: Database, alert_id: int, error: str | None, now: datetime, config: AlertConfig
) -> str:
    with db.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        alert.delivery_attempts += 1
        if error is None:
            alert.delivery_state, alert.delivered_at = "sent", now
            alert.next_try_at, alert.last_error = None, None
        elif alert.delivery_attempts >= config.max_attempts:
            alert.delivery_state, alert.next_try_at, alert.last_error = "failed", None, error
        else:
            alert.next_try_at = now + config.delay(alert.delivery_attempts)
            alert.last_error = error
        return alert.delivery_state


def deliver_due(
    db: Database, config: AlertConfig, *, clock: Callable[[], datetime] | None = None
) -> dict[str, int]:
    """Deliver the pending alerts that are due; nothing is posted inside a transaction."""
    clock = clock or (lambda: datetime.now(UTC))
    targets = config.targets()
    if not targets:
        return {}
    notices = _claim(db, clock(), config.batch)
    problems: dict[int, list[str]] = {n.alert_id: [] for n in notices}
    for target in targets:
        for alert_id, problem in target.deliver(notices, config.timeout).items():
            if problem:
                problems[alert_id].append(problem)
    counts = {"sent": 0, "pending": 0, "failed": 0}
    for alert_id, found in problems.items():
        error = "；".join(found) or None
        if error:
            log.warning("alert %s not delivered: %s", alert_id, error)
        counts[_record(db, alert_id, error, clock(), config)] += 1
    return counts


def run_once(
    app: App, config: AlertConfig | None = None, *, now: datetime | None = None
) -> dict[str, int]:
    """One round: scan (committed first, so a slow webhook never holds the database), then
    deliver what is due."""
    config = config or AlertConfig.from_settings(app.settings)

    def clock() -> datetime:
        return now or datetime.now(UTC)

    with app.db.session() as session:
        created = scan(session, now=clock(), overdue_after=config.overdue_after)
    return {"created": len(created)} | deliver_due(app.db, config, clock=clock)


# --- people ----------------------------------------------------------------------------------


def acknowledge(
    session: Session, alert_id: int, *, actor: str, now: datetime | None = None
) -> Alert:
    """Mark an alert seen. Acknowledging twice keeps the first acknowledgement."""
    now = now or datetime.now(UTC)
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"没有编号为 {alert_id} 的告警", code="alert_not_found")
    person = person_by_username(session, actor)
    if not holds(person, ACKNOWLEDGERS, now):
        allowed = "、".join(sorted(r.label for r in ACKNOWLEDGERS))
        raise Forbidden(f"{person.name}无权确认告警（需要：{allowed}）", code="not_permitted")
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = actor, now
        audit.record(session, "alert.acknowledge", actor=actor, subject=f"alert:{alert_id}", at=now)
    return alert


def recent(session: Session, *, open_only: bool = False, limit: int = 100) -> Iterator[Alert]:
    """The newest alerts first; `open_only`: those nobody has acknowledged."""
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    yield from session.scalars(query)
