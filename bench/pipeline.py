"""Throughput of the publish pipeline against a bare Celery task on the same broker and worker.

N signed-off items × 5 channels go through a real worker (prefork, 2 processes, the app's
settings) and `sanshen scheduler`, against the platform simulators without faults. The clock
runs from the first row leaving `scheduled` (the scheduler's first claim) until the last row's
successful publish call has returned (its Attempt row: started_at + duration); the platform
ledger's last first-publish time is reported beside it. Then 2,000 no-op tasks go through a
bare app with the same delivery settings and the same worker command line, each counting itself
with a Redis INCR; and 2,000 tasks that each make as many loopback HTTP requests to the simulator
server as a publication made on average (the HTTP floor: what the platform calls alone cost).

With --scale: N items, then 4N, back to back on one database and one warm worker (the scheduler
started for each run, after its items are signed off), and the ratio of time per publication
at 4N to that at N (1.0: linear), with each run's scheduler and worker CPU per publication and
platform calls per publication.

Run: python bench/pipeline.py [--items 200] [--bare-tasks 2000] [--profile DIR] [--scale]
The last line of stdout is the JSON result.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stack import (  # noqa: E402
    AT_PLATFORM,
    CpuMeter,
    Stack,
    TreeMemory,
    bare_tasks_per_s,
    emit,
    phase,
    pool_default,
    redis_pid,
    rounded,
    say,
    wait_for,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--bare-tasks", type=int, default=2000)
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy each pool process (wall clock) into DIR"
    )
    parser.add_argument(
        "--pool", default="prefork", choices=("prefork", "threads"), help="both workers' pool"
    )
    parser.add_argument(
        "--concurrency", type=int, help="both workers' pool size (default: the product's)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--scale", action="store_true", help="N then 4N items: the time per publication's ratio"
    )
    parser.add_argument(
        "--confirm-first-check",
        type=float,
        help="SANSHEN_CONFIRM_FIRST_CHECK (default: the product's 30 s; with --scale 3600, so "
        "that neither run's window holds the status checks, which fall 30 s after each send)",
    )
    args = parser.parse_args()
    first_check = args.confirm_first_check = args.confirm_first_check or (
        3600.0 if args.scale else None
    )
    settings = {"SANSHEN_CONFIRM_FIRST_CHECK": str(first_check)} if first_check else {}
    with Stack("pipeline", settings=settings, keep=args.keep) as stack:
        stack.concurrency = args.concurrency = args.concurrency or pool_default()
        stack.worker_extra = ["-P", args.pool]
        emit(scaling(stack, args) if args.scale else run(stack, args))


def scaling(stack: Stack, args: Any) -> dict[str, Any]:
    with phase("starting a warm worker"):
        stack.start("worker")
        stack.wait_worker_ready()
    runs = [one_run(stack, items) for items in (args.items, 4 * args.items)]
    stack.kill("worker", 15)
    small, large = runs
    return {
        "bench": "pipeline-scaling",
        "items": [args.items, 4 * args.items],
        "time_per_publication_ratio": rounded(
            large["ms_per_publication"] / small["ms_per_publication"], 3
        ),
        "runs": runs,
        "duplicates": sum(
            n - 1 for per in stack.sims.ledgers().values() for n in per.values() if n > 1
        ),
        "pool": f"{args.pool}, concurrency {args.concurrency}",
        "counted": "per run: its first row leaving scheduled -> its last successful publish "
        "call returned; the second run's database holds the first run's rows too",
        "settings": f"SANSHEN_CONFIRM_FIRST_CHECK={args.confirm_first_check}: the status "
        "checks of submitted rows (one per row) fall outside both runs' windows, which then "
        "hold the same work",
    }


def one_run(stack: Stack, items: int) -> dict[str, Any]:
    """Sign `items` off with the scheduler stopped, then start it and time their sending."""
    after = max((row.id for row in stack.rows()), default=0)  # this run's rows: ids above
    with phase(f"signing off {items} items"):
        stack.sign_off(items)
    new = {row.id for row in stack.rows()} - set(range(after + 1))
    served_before = stack.sims.served()
    pids = {"worker": stack.pid("worker"), "simulators": stack.sims.pid}
    with CpuMeter(pids) as cpu:
        stack.start("scheduler")
        cpu.add("scheduler", stack.pid("scheduler"))
        wait_for(lambda: _count(stack, after, ("scheduled",)) < len(new), 60, 0.01, "a claim")
        first_claim = time.time()
        say(f"first claim; {len(new)} publications to send")
        wait_for(
            lambda: _count(stack, after, ("scheduled", "queued", "sending")) == 0,
            60 + len(new) * 0.5,
            0.25,
            "every row at its platform",
        )
    stack.kill("scheduler")
    ends = [end for pub_id, end in stack.publish_ends().items() if pub_id in new]
    seconds = max(ends) - first_claim
    return {
        "items": items,
        "publications": len(new),
        "seconds": rounded(seconds, 2),
        "ms_per_publication": rounded(seconds / len(new) * 1000, 2),
        "per_s": rounded(len(new) / seconds, 2),
        "platform_calls_per_publication": rounded(
            (stack.sims.served() - served_before) / len(new), 2
        ),
        "cpu_ms_per_publication": cpu.per(len(new)),
    }


def run(stack: Stack, args: Any) -> dict[str, Any]:
    with phase(f"signing off {args.items} items"):
        setup_s = stack.sign_off(args.items)
    total = sum(stack.states().values())
    with phase("starting a warm worker"):
        stack.start("worker")
        stack.wait_worker_ready()
    profiles = start_profiles(stack, args.profile) if args.profile else []
    served_before = stack.sims.served()
    pids = {
        "worker": stack.pid("worker"),
        "simulators": stack.sims.pid,
        "redis": redis_pid(stack),
        "bench": os.getpid(),
    }
    with TreeMemory(stack.pid("worker")) as memory, CpuMeter(pids) as cpu:
        stack.start("scheduler")
        cpu.add("scheduler", stack.pid("scheduler"))
        wait_for(stack.any_left_scheduled, 60, 0.01, "the first claim")
        first_claim = time.time()
        say(f"first claim; {total} publications to send")
        done = wait_for(
            lambda: _sent(stack) >= total, 60 + total * 0.5, 0.25, "every row at its platform"
        )
        polled_end = time.time()
    for proc in profiles:
        proc.wait(timeout=60)
    ends = stack.publish_ends()
    platform = stack.sims.first_published()
    ledgers = stack.sims.ledgers()
    states = stack.states()
    last_end = max(ends.values()) if ends else polled_end
    last_platform = max(platform.values()) if platform else polled_end
    pipeline_s = last_end - first_claim
    calls = (stack.sims.served() - served_before) / total
    stack.kill("scheduler")
    stack.kill("worker", 15)
    with phase(f"{args.bare_tasks} bare no-op tasks"):
        bare = bare_tasks_per_s(stack, args.bare_tasks)
    per_task = max(1, round(calls))
    floor_url = stack.sims.call("url") + "/bench-floor"  # a 404 from the same server: cheapest
    with phase(f"{args.bare_tasks} tasks making {per_task} HTTP calls each"):
        floor = bare_tasks_per_s(stack, args.bare_tasks, http_calls=per_task, url=floor_url)
    pipeline_per_s = total / pipeline_s
    return {
        "bench": "pipeline",
        "items": args.items,
        "publications": total,
        "pipeline_per_s": rounded(pipeline_per_s, 2),
        "bare_task_per_s": rounded(bare["per_s"], 1),
        "ratio": rounded(pipeline_per_s / bare["per_s"], 4),
        "platform_calls_per_publication": rounded(calls, 2),
        "http_floor_per_s": rounded(floor["per_s"], 1),
        "ratio_to_http_floor": rounded(pipeline_per_s / floor["per_s"], 4),
        "cpu_ms_per_publication": cpu.per(total),
        "cpu_ms_per_bare_task": bare["cpu_ms"],
        "cpu_ms_per_http_floor_task": floor["cpu_ms"],
        "duplicates": sum(n - 1 for per in ledgers.values() for n in per.values() if n > 1),
        "worker_peak_rss_mb": rounded(memory.peak_rss, 1),
        "worker_process_peak_rss_mb": rounded(memory.peak_process_rss, 1),
        "worker_peak_pss_mb": rounded(memory.peak_pss, 1),
        "worker_processes": memory.peak_processes,
        "pool": f"{args.pool}, concurrency {args.concurrency}",
        "counted": "first row leaving scheduled -> last successful publish call returned "
        "(Attempt started_at + duration); every row submitted or published",
        "pipeline_s": rounded(pipeline_s, 2),
        "platform_per_s": rounded(total / (last_platform - first_claim), 2),
        "all_at_platform": done,
        "states": dict(states),
        "at_platform": sum(states.get(s, 0) for s in AT_PLATFORM),
        "published_on_platforms": sum(len(per) for per in ledgers.values()),
        "bare_seconds": rounded(bare["seconds"], 2),
        "bare_send_seconds": rounded(bare["send_seconds"], 2),
        "setup": f"{args.items} items signed off through the review services "
        f"({setup_s:.1f} s, {setup_s / max(args.items, 1) * 1000:.0f} ms each)",
        "settings": "product defaults; SANSHEN_KDF_PROFILE=min, DEFAULT_PUBLISH_TIME=00:00; "
        "simulator WeChat quotas raised",
    }


def _count(stack: Stack, after: int, states: tuple[str, ...]) -> int:
    """How many rows with an id above `after` are in `states` (one indexed count)."""
    from sqlalchemy import func, select

    from orchestrator.models import Publication

    with stack.app.db.read() as session:
        return (
            session.scalar(
                select(func.count()).where(Publication.id > after, Publication.state.in_(states))
            )
            or 0
        )


def _sent(stack: Stack) -> int:
    states = stack.states()
    return sum(n for state, n in states.items() if state not in ("scheduled", "queued", "sending"))


def start_profiles(stack: Stack, folder: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy each pool process for 20 s, idle time included (needs `pip install py-spy`)."""
    import psutil

    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    procs = []
    for child in psutil.Process(stack.pid("worker")).children(recursive=True):
        out = folder / f"pool-{child.pid}.txt"
        say(f"profiling pool process {child.pid} into {out}")
        procs.append(
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--idle",
                    "-p",
                    str(child.pid),
                    "-d",
                    "20",
                    "-r",
                    "100",
                    "-f",
                    "raw",
                    "-o",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return procs


if __name__ == "__main__":
    main()
