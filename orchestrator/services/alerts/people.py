"""Alerts and people: who may acknowledge one, and the list the console shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.model import Role
from orchestrator import audit
from orchestrator.errors import Forbidden, NotFound
from orchestrator.models import Alert
from orchestrator.permissions import holds, person_by_username

ACKNOWLEDGERS = frozenset({Role.WEB_OPERATIONS, Role.GENERAL_OFFICE, Role.OPERATOR})


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
