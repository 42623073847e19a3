"""Delivery: the settings it follows, claiming due alerts under a lease, posting them to every
target outside any transaction, and recording the outcome with backoff; `run_once` is a round."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlalchemy import or_, select, update

from orchestrator.app import App
from orchestrator.db import Database
from orchestrator.models import Alert, Publication, Version
from orchestrator.services.alerts.scan import scan
from orchestrator.services.alerts.targets import JsonWebhook, Notice, Target, WeComRobot
from orchestrator.settings import Settings

log = logging.getLogger("sanshen.alerts")
LEASE = timedelta(seconds=120)  # a claimed delivery is not taken by another scheduler meanwhile


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
