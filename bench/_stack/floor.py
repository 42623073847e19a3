"""The bare Celery floor: no-op tasks through the same broker and worker settings."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from bench._stack.bare import BARE_COUNTER, BARE_QUEUE, bare_app_once
from bench._stack.meters import CpuMeter, redis_pid
from bench._stack.stack import Stack, wait_for


def bare_tasks_per_s(
    stack: Stack, tasks: int, *, http_calls: int = 0, url: str = ""
) -> dict[str, Any]:
    """No-op tasks through the same broker and worker settings, first send to last done. With
    `http_calls`, each task first makes that many loopback HTTP requests to `url` (the floor a
    publication's platform calls set)."""
    bare = bare_app_once()
    name, args = ("bench.http", [url, http_calls]) if http_calls else ("bench.noop", [])
    red = stack.redis()
    stack.start("bare")
    deadline = time.monotonic() + 60
    while not bare.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise RuntimeError("bare worker not ready:\n" + stack.log("bare")[-3000:])
    red.set(BARE_COUNTER, 0)
    for _ in range(20):
        bare.send_task(name, args=args, queue=BARE_QUEUE)
    wait_for(lambda: int(red.get(BARE_COUNTER) or 0) >= 20, 30, 0.05, "bare warm-up")
    red.set(BARE_COUNTER, 0)
    pids = {"worker": stack.pid("bare"), "redis": redis_pid(stack), "bench": os.getpid()}
    if http_calls:
        pids["simulators"] = stack.sims.pid
    with CpuMeter(pids) as cpu:
        started = time.monotonic()
        for _ in range(tasks):
            bare.send_task(name, args=args, queue=BARE_QUEUE)
        sent = time.monotonic() - started
        wait_for(lambda: int(red.get(BARE_COUNTER) or 0) >= tasks, 600, 0.005, "bare tasks")
        took = time.monotonic() - started
    stack.kill("bare", signal.SIGTERM)
    return {
        "tasks": tasks,
        "per_s": tasks / took,
        "seconds": took,
        "send_seconds": sent,
        "cpu_ms": cpu.per(tasks),
    }


# --- small helpers for the benches ----------------------------------------------------------------
