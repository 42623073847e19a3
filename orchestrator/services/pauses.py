"""Pausing a channel by hand, and resuming it (`sanshen channel`, the console's 系统状态 page).

A pause holds every send on the channel (the workers put due rows back as `scheduled` until it
ends); the checks of rows already sent go on. The platform pauses a channel too (a rate limit, a
spent daily quota). A person may resume either: the rows that waited for the pause are due at
once. Both are recorded in the audit log; only 政府网站运行科 (own platforms), 综合科 (upward) and
值守运维 may do them.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from channels.base import Channel
from orchestrator import audit
from orchestrator.app import App
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.models import Publication
from orchestrator.permissions import require
from orchestrator.services.hub import Pause, RateGate
from orchestrator.services.moves import record_move, retime_scheduled
from orchestrator.services.publishing.shared import WAITING_FOR_PAUSE, require_reason
from orchestrator.states import State

MAX_PAUSE_MINUTES = 7 * 24 * 60


def channel_class(classes: dict[str, type[Channel]], channel: str) -> type[Channel]:
    if channel not in classes:
        known = "、".join(sorted(classes))
        raise NotFound(f"没有渠道“{channel}”（可用：{known}）", code="unknown_channel")
    return classes[channel]


def pause(
    app: App,
    gate: RateGate,
    classes: dict[str, type[Channel]],
    channel: str,
    *,
    minutes: int,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> Pause:
    """Hold the channel's sends for `minutes` (a person's pause replaces a shorter or longer
    one the platform asked for)."""
    now = now or datetime.now(UTC)
    kind = channel_class(classes, channel).kind
    require_reason(reason, "暂停渠道")
    if not 1 <= minutes <= MAX_PAUSE_MINUTES:
        raise InvalidInput(
            f"暂停时长须在 1 到 {MAX_PAUSE_MINUTES} 分钟（7 天）之间，收到 {minutes}",
            code="bad_pause_minutes",
        )
    with app.db.session() as session:
        require(session, actor, "pause", kind, now)
        audit.record(
            session,
            "channel.pause",
            actor=actor,
            subject=f"channel:{channel}",
            payload={"minutes": minutes, "reason": reason.strip()},
            at=now,
        )
        # In the audit event's transaction: a broker that refuses the key records nothing.
        gate.pause(channel, minutes * 60, by=actor, reason=reason.strip(), replace=True)
    return gate.paused(channel) or Pause(channel, minutes * 60, actor, reason.strip())


def resume(
    app: App,
    gate: RateGate,
    classes: dict[str, type[Channel]],
    channel: str,
    *,
    actor: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """End the channel's pause; the rows that waited for it are due now."""
    now = now or datetime.now(UTC)
    kind = channel_class(classes, channel).kind
    with app.db.session() as session:
        require(session, actor, "pause", kind, now)
        was = gate.paused(channel)
        waiting = session.scalars(
            select(Publication.id)
            .where(
                Publication.channel == channel,
                Publication.state == State.SCHEDULED.value,
                Publication.last_error_class.in_(WAITING_FOR_PAUSE),
                Publication.scheduled_at > now,
            )
            .order_by(Publication.id)
        ).all()
        for pub_id in waiting:
            # scheduled_at is bound (attest): each row's new time is recorded with its digest
            retime_scheduled(
                session, pub_id, scheduled_at=now, last_error=None, last_error_class=None
            )
            record_move(
                session,
                pub_id,
                "publication.resume",
                State.SCHEDULED,
                actor=actor,
                payload={"channel": channel},
                at=now,
                rebound=True,
            )
        audit.record(
            session,
            "channel.resume",
            actor=actor,
            subject=f"channel:{channel}",
            payload={"paused": asdict(was) if was else None, "rows": len(waiting)},
            at=now,
        )
        gate.resume(channel)
    return {"channel": channel, "was_paused": was is not None, "rows_due_now": len(waiting)}


def states(gate: RateGate, classes: dict[str, type[Channel]]) -> list[dict[str, Any]]:
    """Every channel, paused or not, in the registry's order."""
    out = []
    now = datetime.now(UTC)
    for name, cls in classes.items():
        pause_ = gate.paused(name)
        out.append(
            {
                "channel": name,
                "label": cls.display_name,
                "kind": cls.kind.value,
                "paused": pause_ is not None,
                "until": now + timedelta(seconds=pause_.seconds_left) if pause_ else None,
                "by": pause_.by if pause_ else "",
                "reason": pause_.reason if pause_ else "",
            }
        )
    return out
