"""The scan: one Alert row per condition (failed, unconfirmed, overdue, held, takedown), and
the integrity alert the send-time gate raises at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from orchestrator.errors import SanshenError
from orchestrator.models import Alert, Publication, Version
from orchestrator.services.alerts.wording import channel_label, clip, describe
from orchestrator.states import State

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
SCAN_LIMIT = 500
# Failures older than this were alerted when they happened, or predate alerting (first start).
LOOKBACK = timedelta(days=7)


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
        + clip(refusal.message),
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
