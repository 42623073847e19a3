"""The reconciler's round: the rows whose outcome is open and whose time to be asked has come,
stuck `sending` (settle.py) and waiting `submitted` (status.py), checked side by side."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from orchestrator.models import Publication
from orchestrator.services.publishing.settle import settle
from orchestrator.services.publishing.shared import Context, log
from orchestrator.services.publishing.status import confirm
from orchestrator.states import State

Check = Callable[[int], str]


def reconcile(
    ctx: Context,
    limit: int | None = None,
    *,
    settle_row: Check | None = None,
    confirm_row: Check | None = None,
) -> dict[str, int]:
    """Settle rows whose outcome is open: stuck `sending`, waiting `submitted`.

    A round takes only the rows whose time to be asked has come (`next_check_at`), at most
    `reconcile_batch` of each kind, oldest first: short rounds then spread the platform
    calls over time as the rows fall due, instead of a burst every round that competes
    with the due sends (bench/schedule.py), and a backlog drains at a steady pace.

    The rows are found, and each is read before its platform call, in read transactions:
    on SQLite only writes take the one write lock that the workers' sends and the
    scheduler's claims wait for, so a check takes it once, not twice. Every write is still
    a compare-and-set. `settle_row` and `confirm_row` check one row of each kind (by default
    `settle.settle` and `status.confirm` on `ctx`)."""
    now = ctx.clock()
    s = ctx.settings
    limit = limit or s.reconcile_batch
    check_stuck: Check = settle_row or (lambda pub_id: settle(ctx, pub_id))
    check_waiting: Check = confirm_row or (lambda pub_id: confirm(ctx, pub_id))
    with ctx.app.db.read() as session:
        stuck = _due(
            session,
            State.SENDING,
            now,
            limit,
            Publication.state_changed_at < now - timedelta(seconds=s.settle_after),
        )
        waiting = _due(session, State.SUBMITTED, now, limit)
    # Each check is a platform call with its own short transactions: several at once, so
    # one slow platform (or a backlog after downtime) does not hold up the round.
    with ThreadPoolExecutor(s.reconcile_concurrency, "sanshen-check") as pool:
        settled = list(pool.map(lambda pub_id: _guarded(check_stuck, pub_id), stuck))
        confirmed = list(pool.map(lambda pub_id: _guarded(check_waiting, pub_id), waiting))
    return {
        "settled": sum(result not in ("open", "error") for result in settled),
        "confirmed": sum(result not in (State.SUBMITTED.value, "error") for result in confirmed),
    }


def _due(
    session: Session, state: State, now: datetime, limit: int, *also: ColumnElement[bool]
) -> list[int]:
    """Rows in `state` whose time to be asked has come (`next_check_at` unset, or past), the
    unset first, then the longest due, at most `limit`: two range reads on ix_publications_checks
    (state, next_check_at), so a round reads the rows that are due and never those that wait."""
    in_state = Publication.state == state.value
    unset = session.scalars(
        select(Publication.id)
        .where(in_state, Publication.next_check_at.is_(None), *also)
        .order_by(Publication.id)
        .limit(limit)
    ).all()
    passed = session.scalars(
        select(Publication.id)
        .where(in_state, Publication.next_check_at <= now, *also)
        .order_by(Publication.next_check_at, Publication.id)
        .limit(limit - len(unset))
    ).all()
    return [*unset, *passed]


def _guarded(check: Check, pub_id: int) -> str:
    """One row's failure is logged and leaves the row for the next round, not the others."""
    try:
        return check(pub_id)
    except Exception:
        log.exception("checking publication %s failed; next round tries again", pub_id)
        return "error"
