"""Lateness: publications due within one minute, from due time to the platform receiving them.

100 signed-off items × 5 channels (500 publications) are given due times spread evenly over the
next 60 s (a shuffled order, so channels interleave), then `sanshen scheduler` starts beside a
warm worker. Lateness is the platform's receipt time (the simulator ledger's first publish of
the key) minus the row's due time. The first publish call's start is reported too, to tell the
scheduler's share from the sending's.

Run: python bench/schedule.py [--interval 0.2] [--reconcile-interval 1] [--publications 500]
The last line of stdout is the JSON result.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stack import (  # noqa: E402
    ALL_CHANNELS,
    Stack,
    emit,
    percentile,
    phase,
    rounded,
    say,
    shuffled,
    utcnow,
    wait_for,
)
from orchestrator.settings import Settings  # noqa: E402

LEAD_S = 4.0  # the scheduler's start-up, before the first row is due


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publications", type=int, default=500)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the due times span")
    parser.add_argument("--interval", type=float, default=0.2, help="SANSHEN_SCHEDULER_INTERVAL")
    parser.add_argument(
        "--reconcile-interval",
        type=float,
        default=Settings().reconcile_interval,
        help="SANSHEN_RECONCILE_INTERVAL (default: the product's)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    settings = {
        "SANSHEN_SCHEDULER_INTERVAL": str(args.interval),
        "SANSHEN_RECONCILE_INTERVAL": str(args.reconcile_interval),
    }
    with Stack("schedule", settings=settings, keep=args.keep) as stack:
        emit(run(stack, args))


def run(stack: Stack, args: Any) -> dict[str, Any]:
    items = -(-args.publications // len(ALL_CHANNELS))
    with phase(f"signing off {items} items"):
        stack.sign_off(items)
    rows = stack.rows()[: args.publications]
    with phase("starting a warm worker"):
        stack.start("worker")
        stack.wait_worker_ready()
    first_due = utcnow() + timedelta(seconds=LEAD_S)
    step = args.spread / max(len(rows) - 1, 1)
    due = {
        row.id: first_due + timedelta(seconds=i * step)
        for i, row in enumerate(shuffled(rows, seed=7))
    }
    cancelled = _set_due(stack, due, {r.id for r in stack.rows()} - set(due))
    stack.start("scheduler")
    say(f"{len(rows)} publications due from {first_due:%H:%M:%S.%f} over {args.spread:.0f} s")
    keys = {row.key: row for row in rows}
    done = wait_for(
        lambda: len(set(stack.sims.first_published()) & set(keys)) >= len(keys),
        LEAD_S + args.spread + 120,
        0.5,
        "every publication at its platform",
    )
    received = stack.sims.first_published()
    started = stack.first_attempts()
    lateness, dispatch, by_channel, worst = [], [], defaultdict(list), []
    for key, row in keys.items():
        due_at = due[row.id].timestamp()
        if key in received:
            lateness.append(received[key] - due_at)
            by_channel[row.channel].append(received[key] - due_at)
            worst.append((received[key] - due_at, due_at - first_due.timestamp(), row.channel))
        if row.id in started:
            dispatch.append(started[row.id] - due_at)
    ledgers = stack.sims.ledgers()
    return {
        "bench": "schedule",
        "publications": len(rows),
        "lateness_p50_s": rounded(percentile(lateness, 50)),
        "lateness_p99_s": rounded(percentile(lateness, 99)),
        "lateness_max_s": rounded(max(lateness, default=float("nan"))),
        "received": len(lateness),
        "all_received": done,
        "first_call_lateness_p50_s": rounded(percentile(dispatch, 50)),
        "first_call_lateness_p99_s": rounded(percentile(dispatch, 99)),
        "lateness_p99_by_channel_s": {
            channel: rounded(percentile(values, 99)) for channel, values in by_channel.items()
        },
        "worst": [
            {"lateness_s": rounded(late), "due_after_s": rounded(offset, 1), "channel": channel}
            for late, offset, channel in sorted(worst, reverse=True)[:8]
        ],
        "duplicates": sum(n - 1 for per in ledgers.values() for n in per.values() if n > 1),
        "scheduler_interval_s": args.interval,
        "reconcile_interval_s": args.reconcile_interval,
        "spread_s": args.spread,
        "states": dict(stack.states()),
        "setup": "items signed off through the review services, then each row's scheduled_at "
        "moved to its due time as the product moves it (its digest recorded in the audit chain)"
        + (f"; {cancelled} surplus rows cancelled" if cancelled else ""),
        "measured": "simulator ledger first publish time minus scheduled_at",
    }


def _set_due(stack: Stack, due: dict[int, Any], surplus: set[int]) -> int:
    """Each row's due time, moved as the product moves it (an 改期 or a pause's end): the new
    time recorded in the audit chain with the row's digest, or the gate would refuse the row
    as altered after its sign-off."""
    from sqlalchemy import update

    from orchestrator.models import Publication
    from orchestrator.services.moves import record_move, retime_scheduled
    from orchestrator.states import State

    with stack.app.db.session() as session:
        for pub_id, when in due.items():
            if not retime_scheduled(session, pub_id, scheduled_at=when):
                raise RuntimeError(f"publication {pub_id} is not scheduled")
            record_move(
                session, pub_id, "publication.resume", State.SCHEDULED, at=utcnow(), rebound=True
            )
        if surplus:
            session.execute(
                update(Publication)
                .where(Publication.id.in_(surplus))
                .values(state="cancelled", state_changed_at=utcnow())
            )
    return len(surplus)


if __name__ == "__main__":
    main()
