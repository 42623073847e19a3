"""What the publish-pipeline benches share: a whole stack in a temporary folder, torn down on
any exit (error, Ctrl-C, SIGTERM).

    Redis      the embedded redis-server on a Unix socket in the folder
    database   SQLite in the folder, migrated, the demo organisation
    simulators every platform, served by a child process of their own so that they do not
               compete with the bench for the GIL; each ledger also notes when a key was
               first published (the platform's receipt time)
    worker     `celery -A tasks worker` (devstack.worker_argv) and `sanshen scheduler`

Progress goes to stderr; a bench prints its JSON result as the last line of stdout.
`bare_app` is a Celery app with the real app's delivery settings and one no-op task: the
floor the pipeline is compared with (`celery -A bench._stack.bare:bare_app worker`).

The modules, by job: `basics` (progress, result, statistics, times), `simulators`, `stack`,
`meters` (memory and CPU), `bare` (the bare app) and `floor` (its tasks per second).
"""

from typing import Any

from bench._stack.bare import (
    BARE_COUNTER,
    BARE_QUEUE,
    bare_app_once,
    bare_worker_argv,
    make_bare_app,
    pool_default,
)
from bench._stack.basics import (
    ALL_CHANNELS,
    AT_PLATFORM,
    FINAL,
    REPO,
    emit,
    later,
    median,
    percentile,
    phase,
    rounded,
    say,
    shuffled,
    utcnow,
)
from bench._stack.floor import bare_tasks_per_s
from bench._stack.meters import CpuMeter, TreeMemory, redis_pid
from bench._stack.simulators import WECHAT_BENCH_QUOTAS, SimulatorProcess
from bench._stack.stack import Row, Stack, wait_for

__all__ = [
    "ALL_CHANNELS",
    "AT_PLATFORM",
    "BARE_COUNTER",
    "BARE_QUEUE",
    "FINAL",
    "REPO",
    "WECHAT_BENCH_QUOTAS",
    "CpuMeter",
    "Row",
    "SimulatorProcess",
    "Stack",
    "TreeMemory",
    "bare_tasks_per_s",
    "bare_worker_argv",
    "emit",
    "later",
    "make_bare_app",
    "median",
    "percentile",
    "phase",
    "pool_default",
    "redis_pid",
    "rounded",
    "say",
    "shuffled",
    "utcnow",
    "wait_for",
]


def __getattr__(name: str) -> Any:
    """`bench._stack:bare_app`, the old worker path, still names the bare app."""
    if name == "bare_app":
        return bare_app_once()
    raise AttributeError(name)
