"""Crash and fault tolerance: kill -9 the worker (and once the scheduler) while platforms fail.

N signed-off items × 5 channels go through a real worker, `sanshen scheduler` and `sanshen api`
(WeChat's PUBLISHJOBFINISH callback), against simulators that add latency and fail 20% of
requests across kinds: 5xx, timeout (hanging longer than the adapters' read timeout), reset,
rate limit, and a dropped reply after the platform acted. The worker's process group is
killed with SIGKILL at random moments (at least 5 times, restarted each time), the scheduler
once. Then the run is left to finish.

    lost        publications missing altogether, rows never final (published, failed,
                unconfirmed, cancelled, retracted) by the end of the run, and rows the database
                calls sent that the platform does not hold
    not_final_60s_after_last_restart_count
                rows still on their way 60 s after the last restart (the target: 0); settle_s
                says when the last one became final
    duplicated  keys a platform published more than once (the simulators' ledgers)

Run: python bench/crash.py [--items 1000] [--kills 5] [--seed 1]
The last line of stdout is the JSON result.
"""

from __future__ import annotations

import argparse
import random
import socket
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stack import (  # noqa: E402
    ALL_CHANNELS,
    FINAL,
    Stack,
    emit,
    phase,
    pool_default,
    rounded,
    say,
    wait_for,
)

GRACE_S = 60.0  # every row final within this long after the last restart
SETTINGS = {
    "SANSHEN_SCHEDULER_INTERVAL": "0.5",
    "SANSHEN_RECONCILE_INTERVAL": "1",
    "SANSHEN_TASK_TIME_LIMIT": "10",
    "SANSHEN_SETTLE_AFTER": "12",
    "SANSHEN_QUEUED_STALE_AFTER": "10",
    "SANSHEN_RETRY_BASE_DELAY": "0.5",
    "SANSHEN_RETRY_MAX_DELAY": "4",
    "SANSHEN_CONFIRM_FIRST_CHECK": "1",
    "SANSHEN_CONFIRM_MAX_INTERVAL": "5",
}
READ_TIMEOUT_S = 2.0
IN_FLIGHT = ("scheduled", "queued", "sending")


def faults(
    rate: float, latency_ms: float, seed: int, wechat_rate_limit: bool
) -> dict[str, dict[str, Any]]:
    """`rate` of requests fail, spread over the kinds; a quarter of it is a dropped reply.

    WeChat's rate-limit answer is 45011, which the adapter (rightly) reads as "wait a minute":
    every one pauses the whole channel for 60 s, so by default its share goes to 5xx there.
    """
    share = {"5xx": 0.25, "timeout": 0.15, "reset": 0.2, "rate_limit": 0.15}
    no_limit = share | {"5xx": 0.4, "rate_limit": 0.0}
    return {
        name: {
            "rates": {
                kind: rate * part
                for kind, part in (
                    no_limit if name == "wechat" and not wechat_rate_limit else share
                ).items()
            },
            "drop_reply_rate": rate * 0.25,
            "latency_ms": latency_ms,
            "hang_s": READ_TIMEOUT_S + 1,
            "retry_after_s": 1,
            "confirm_delay_s": 1.0 if name == "wechat" else 0.0,
            "seed": seed * 100 + n,
        }
        for n, name in enumerate(ALL_CHANNELS)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=5, help="worker kills (SIGKILL)")
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wechat-redis", action="store_true", help="share WeChat's send log")
    parser.add_argument(
        "--wechat-rate-limit", action="store_true", help="WeChat gets rate-limit faults too"
    )
    parser.add_argument(
        "--concurrency", type=int, help="the worker's pool (default: the product's)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    overrides: dict[str, Any] = {"read_timeout": READ_TIMEOUT_S}
    with Stack(
        "crash",
        settings=SETTINGS,
        faults=faults(args.fault_rate, args.latency_ms, args.seed, args.wechat_rate_limit),
        channel_overrides=overrides,
        keep=args.keep,
    ) as stack:
        stack.concurrency = args.concurrency = args.concurrency or pool_default()
        emit(run(stack, args))


def run(stack: Stack, args: Any) -> dict[str, Any]:
    rng = random.Random(args.seed)
    if args.wechat_redis:
        stack.procs.env["SANSHEN_CHANNEL_WECHAT_REDIS_URL"] = stack.redis_url.replace(
            "redis+socket://", "unix://"
        )
    with phase(f"signing off {args.items} items"):
        stack.sign_off(args.items)
    expected = args.items * len(ALL_CHANNELS)
    start_api(stack)
    stack.start("worker")
    stack.start("scheduler")
    started = time.monotonic()
    # random moments over the run, the last one near its end: "final within 60 s of the last
    # restart" then measures recovery rather than the backlog still to send
    plan = [("worker", rng.uniform(0.05, 0.9)) for _ in range(args.kills - 1)]
    plan += [("worker", rng.uniform(0.93, 0.98)), ("scheduler", rng.uniform(0.2, 0.7))]
    plan.sort(key=lambda step: step[1])
    kills: Counter[str] = Counter()
    backlog: list[dict[str, int]] = []
    last_restart = time.monotonic()
    for what, at in plan:
        wait_for(lambda at=at: progress(stack, expected) >= at, 3600, 0.2, f"progress {at:.2f}")
        time.sleep(rng.uniform(0, 0.5))
        states = stack.states()
        stack.kill(what)  # SIGKILL to the process group
        kills[what] += 1
        backlog.append({"queued_rows": states.get("queued", 0), "broker_tasks": _in_broker(stack)})
        say(f"killed {what} at {progress(stack, expected):.0%} sent; {_brief(states)}")
        time.sleep(rng.uniform(0.5, 2.0))
        stack.start(what)
        last_restart = time.monotonic()
    unsettled = _not_final(stack)
    say(f"last restart; waiting for every row to be final ({unsettled} not yet)")
    all_final = wait_for(lambda: _not_final(stack) == 0, GRACE_S, 0.5, "every row final")
    at_grace = [] if all_final else [r for r in stack.rows() if r.state not in FINAL]
    settle_s = time.monotonic() - last_restart if all_final else None
    if not all_final and _finish_late(stack):  # how long it took after all, for the report
        settle_s = time.monotonic() - last_restart
    result = report(stack, args, expected, kills, at_grace, settle_s, time.monotonic() - started)
    return result | {"not_final_at_last_restart": unsettled, "queued_vs_broker_at_kills": backlog}


def _finish_late(stack: Stack, longest: float = 180, stalled_after: float = 45) -> bool:
    """Wait on while states still change; False once nothing moved for `stalled_after` s."""
    deadline = time.monotonic() + longest
    last, moved = stack.states(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        states = stack.states()
        if sum(n for s, n in states.items() if s not in FINAL) == 0:
            return True
        if states != last:
            last, moved = states, time.monotonic()
        elif time.monotonic() - moved > stalled_after:
            say(f"no row changed state for {stalled_after:.0f} s: {_brief(states)}")
            return False
    return False


def progress(stack: Stack, expected: int) -> float:
    states = stack.states()
    return sum(n for s, n in states.items() if s not in IN_FLIGHT) / expected


def _not_final(stack: Stack) -> int:
    return sum(n for s, n in stack.states().items() if s not in FINAL)


def _in_broker(stack: Stack) -> int:
    """Publish tasks waiting in Redis, all channels."""
    red = stack.redis()
    return sum(int(red.llen(f"publish.{name}")) for name in ALL_CHANNELS)


def _brief(states: Counter[str]) -> str:
    return ", ".join(f"{s} {n}" for s, n in sorted(states.items()))


def start_api(stack: Stack) -> None:
    """`sanshen api` on loopback, and the WeChat simulator's callbacks pointed at it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bin_dir = Path(sys.executable).parent
    stack.procs.start(
        "api", [str(bin_dir / "sanshen"), "api", "--host", "127.0.0.1", "--port", str(port)]
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    if not wait_for(healthy, 30, 0.2, "sanshen api"):
        raise RuntimeError("sanshen api did not start:\n" + stack.log("api")[-2000:])
    stack.sims.call("callback", f"{url}/callbacks/wechat")


def report(
    stack: Stack,
    args: Any,
    expected: int,
    kills: Counter[str],
    at_grace: list[Any],
    settle_s: float | None,
    run_s: float,
) -> dict[str, Any]:
    with phase("stopping and counting"):
        for name in ("scheduler", "worker", "api"):
            stack.kill(name)
        rows = stack.rows()
        ledgers = stack.sims.ledgers()
    held = {key: n for per in ledgers.values() for key, n in per.items()}
    by_key = {row.key: row for row in rows}
    states = Counter(row.state for row in rows)
    duplicated = {key: n for key, n in held.items() if n > 1}
    unknown_keys = [key for key in held if key not in by_key]
    not_final = [row for row in rows if row.state not in FINAL]
    failed_but_held = [r for r in rows if r.state == "failed" and held.get(r.key, 0) > 0]
    claimed_not_held = [
        r for r in rows if r.state in ("published", "submitted") and held.get(r.key, 0) == 0
    ]
    unconfirmed_held = Counter(
        (r.channel, held.get(r.key, 0) > 0) for r in rows if r.state == "unconfirmed"
    )
    return {
        "bench": "crash",
        "items": args.items,
        "publications": len(rows),
        "published": states.get("published", 0),
        "failed": states.get("failed", 0),
        "unconfirmed": states.get("unconfirmed", 0),
        # Lost: never created, never final, or final as sent while the platform has nothing.
        # Rows still on their way 60 s after the last restart are counted apart, below.
        "lost": max(0, expected - len(rows)) + len(not_final) + len(claimed_not_held),
        "not_final_60s_after_last_restart_count": len(at_grace),
        "duplicated": len(duplicated),
        "kills": sum(kills.values()),
        "settle_s": rounded(settle_s, 1),
        "worker_kills": kills["worker"],
        "scheduler_kills": kills["scheduler"],
        "missing": max(0, expected - len(rows)),
        "not_final_60s_after_last_restart": _by_state_and_channel(at_grace),
        "not_final_at_end": _by_state_and_channel(not_final),
        "states": dict(states),
        "failed_but_on_platform": len(failed_but_held),
        "failed_but_on_platform_by_channel": dict(Counter(r.channel for r in failed_but_held)),
        "submitted_or_published_in_db_but_not_published_on_platform": _by_state_and_channel(
            claimed_not_held
        ),
        "unconfirmed_actually_published": {
            channel: n for (channel, on), n in unconfirmed_held.items() if on
        },
        "duplicated_keys": _describe(stack, duplicated, by_key),
        "platform_keys_unknown_to_db": len(unknown_keys),
        "examples": _errors(
            stack, {r.id: r for r in failed_but_held[:3] + claimed_not_held[:3] + not_final[:3]}
        ),
        "run_s": rounded(run_s, 1),
        "faults": f"{args.fault_rate:.0%} of requests (5xx, timeout with hang "
        f"{READ_TIMEOUT_S + 1:.0f} s > read timeout {READ_TIMEOUT_S:.0f} s, reset, rate limit "
        f"1 s, dropped reply), latency {args.latency_ms:.0f} ms"
        + ("" if args.wechat_rate_limit else "; WeChat: no rate-limit faults (5xx instead)"),
        "settings": SETTINGS | {"read_timeout": READ_TIMEOUT_S},
        "worker_concurrency": args.concurrency,
        "wechat_send_log": "redis" if args.wechat_redis else "per process (default)",
    }


def _by_state_and_channel(rows: list[Any]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        table[row.state][row.channel] += 1
    return {state: dict(counts) for state, counts in table.items()}


def _describe(stack: Stack, duplicated: dict[str, int], by_key: dict[str, Any]) -> list[Any]:
    out = []
    for key, n in list(duplicated.items())[:5]:
        row = by_key.get(key)
        out.append(
            {
                "key": key,
                "published_times": n,
                "channel": row.channel if row else None,
                "state": row.state if row else None,
                "attempts": _attempts(stack, row.id)[:12] if row else [],
            }
        )
    return out


def _errors(stack: Stack, rows: dict[int, Any]) -> list[dict[str, Any]]:
    out = []
    for r in rows.values():
        attempts = _attempts(stack, r.id)
        shown = attempts[:6] + ([f"… {len(attempts) - 6} more"] if len(attempts) > 6 else [])
        out.append({"id": r.id, "channel": r.channel, "state": r.state, "attempts": shown})
    return out


def _attempts(stack: Stack, pub_id: int) -> list[str]:
    from sqlalchemy import select

    from orchestrator.models import Attempt

    with stack.app.db.session() as session:
        found = session.execute(
            select(
                Attempt.started_at, Attempt.operation, Attempt.outcome, Attempt.error_class
            ).where(Attempt.publication_id == pub_id)
        ).all()
    return [
        f"{at:%H:%M:%S.%f} {op} {outcome} {error or ''}".strip() for at, op, outcome, error in found
    ]


if __name__ == "__main__":
    main()
