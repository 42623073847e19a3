"""The compare-and-set moves of a publication row, and the audit event each move records.

A move changes a row's state only from the states it expects (`move`); when two workers race,
one moves and the other is told so. `record_move` writes the move's audit event, with the row's
digest (attest), in the same transaction; `recorded_move` does both, the usual pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from orchestrator import attest, audit
from orchestrator.models import Publication
from orchestrator.states import State, allowed
from orchestrator.wakeup import ROOM, due_changed


def move(
    session: Session,
    pub_id: int,
    sources: Iterable[State],
    target: State,
    *,
    now: datetime,
    **values: Any,
) -> bool:
    """Move one row from any of `sources` to `target`; False when another worker was first."""
    sources = tuple(sources)
    if target in (State.PUBLISHED, State.SUBMITTED):
        # The platform has it now: an earlier timeout is history (its Attempt row keeps it),
        # not the row's error.
        values = {"last_error": None, "last_error_class": None, **values}
    for source in sources:
        if not allowed(source, target):
            raise ValueError(f"transition {source} -> {target} is not in the table")
    table = cast(Table, Publication.__table__)
    # A Core statement on the session's connection: the ORM's bulk-update machinery would only
    # add cost here (nothing in the session is synchronised anyway).
    result = session.connection().execute(
        update(table)
        .where(table.c.id == pub_id, table.c.state.in_([s.value for s in sources]))
        .values(state=target.value, revision=table.c.revision + 1, state_changed_at=now, **values)
    )
    moved = result.rowcount == 1
    if moved and target is State.SCHEDULED:
        due_changed(session)  # a row due again (a retry, a pause's end, a release)
    elif moved and State.QUEUED in sources:
        due_changed(session, ROOM)  # room in its channel's queue
    return moved


def record_move(
    session: Session,
    pub_id: int,
    action: str,
    state: State | None,
    *,
    at: datetime,
    actor: str = "",
    payload: dict[str, Any] | None = None,
    rebound: bool = False,
) -> None:
    """The audit event of a move, in the move's transaction: it records the `state` reached
    (None: the row did not move), and with `rebound` the new digest of a row whose bound
    columns (e.g. scheduled_at) the move changed. Moves not recorded: states.QUIET_MOVES."""
    payload = dict(payload or {})
    if rebound:
        payload["row"] = attest.fresh_claim(session, attest.PUBLICATIONS, pub_id)
    elif state is not None:
        payload["row"] = attest.state_claim(attest.PUBLICATIONS, pub_id, state.value)
    audit.record(
        session, action, actor=actor, subject=f"publication:{pub_id}", payload=payload, at=at
    )


def recorded_move(
    session: Session,
    pub_id: int,
    sources: Iterable[State],
    target: State,
    *,
    now: datetime,
    action: str,
    actor: str = "",
    payload: dict[str, Any] | None = None,
    rebound: bool = False,
    **values: Any,
) -> bool:
    """`move`, and when the row did move, its audit event `action` (`record_move`, the `target`
    reached) in the same transaction. False, and nothing recorded, when another was first."""
    if not move(session, pub_id, sources, target, now=now, **values):
        return False
    record_move(
        session, pub_id, action, target, at=now, actor=actor, payload=payload, rebound=rebound
    )
    return True


def retime_scheduled(session: Session, pub_id: int, **values: Any) -> bool:
    """Change a `scheduled` row's columns in place (its time: bound, so the caller records the
    new digest with `record_move(..., rebound=True)`): a compare-and-set on the state that
    counts a revision, as a move does. False when the row is no longer `scheduled`."""
    result = session.execute(
        update(Publication)
        .where(Publication.id == pub_id, Publication.state == State.SCHEDULED.value)
        .values(revision=Publication.revision + 1, **values)
        .execution_options(synchronize_session=False)
    )
    retimed = bool(result.rowcount == 1)  # type: ignore[attr-defined]
    if retimed:
        due_changed(session)
    return retimed
