"""The reconciler's round: the rows whose outcome is open and whose time to be asked has come,
stuck `sending` (settle.py) and waiting `submitted` (status.py), checked side by side."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

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
    due = Publication.next_check_at.is_(None) | (Publication.next_check_at <= now)
    with ctx.app.db.read() as session:
        stuck = session.scalars(
            select(Publication.id)
            .where(
                Publication.state == State.SENDING.value,
                Publication.state_changed_at < now - timedelta(seconds=s.settle_after),
                due,
            )
            .order_by(Publication.next_check_at.nulls_first(), Publication.id)
            .limit(limit)
        ).all()
        waiting = session.scalars(
            select(Publication.id)
            .where(Publication.state == State.SUBMITTED.value, due)
            .order_by(Publication.next_check_at.nulls_first(), Publication.id)
            .limit(limit)
        ).all()
    # Each check is a platform call with its own short transactions: several at once, so
    # one slow platform (or a backlog after downtime) does not hold up the round.
    with ThreadPoolExecutor(s.reconcile_concurrency, "sanshen-check") as pool:
        settled = list(pool.map(lambda pub_id: _guarded(check_stuck, pub_id), stuck))
        confirmed = list(pool.map(lambda pub_id: _guarded(check_waiting, pub_id), waiting))
    return {
        "settled": sum(result not in ("open", "error") for result in settled),
        "confirmed": sum(result not in (State.SUBMITTED.value, "error") for result in confirmed),
    }


def _guarded(check: Check, pub_id: int) -> str:
    """One row's failure is logged and leaves the row for the next round, not the others."""
    try:
        return check(pub_id)
    except Exception:
        log.exception("checking publication %s failed; next round tries again", pub_id)
        return "error"
