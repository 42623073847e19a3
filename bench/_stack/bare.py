"""A Celery app with the real app's delivery settings and one no-op task: the floor the
pipeline is compared with (`celery -A bench._stack.bare:bare_app worker`)."""

from __future__ import annotations

from typing import Any

BARE_QUEUE = "bench.bare"
BARE_COUNTER = "bench:bare:done"

_BARE: Any = None
_COPIED = (
    "broker_url",
    "broker_connection_retry_on_startup",
    "broker_transport_options",
    "task_acks_late",
    "task_reject_on_worker_lost",
    "worker_prefetch_multiplier",
    "task_time_limit",
    "task_soft_time_limit",
    "task_ignore_result",
    "worker_send_task_events",
    "task_send_sent_event",
    "worker_hijack_root_logger",
    "timezone",
    "enable_utc",
)


def make_bare_app() -> Any:
    """The real app's delivery settings (acks late, prefetch 1, no results, events on), one
    queue and one task that only counts itself in Redis."""
    from celery import Celery
    from kombu import Queue

    from orchestrator.redis_embedded import client
    from tasks.app import make_app

    real = make_app().conf
    bare = Celery("bench-bare")
    bare.conf.update({key: real[key] for key in _COPIED})
    bare.conf.update(task_default_queue=BARE_QUEUE, task_queues=[Queue(BARE_QUEUE)])
    counter: list[Any] = []

    @bare.task(name="bench.noop")
    def noop() -> None:
        if not counter:
            counter.append(client(bare.conf.broker_url))
        counter[0].incr(BARE_COUNTER)

    session: list[Any] = []

    @bare.task(name="bench.http")
    def http(url: str, calls: int) -> None:
        """The platform round trips a publication needs, and nothing else."""
        import requests

        if not session:
            session.append(requests.Session())
        for _ in range(calls):
            session[0].get(url, timeout=10)
        noop()

    return bare


def bare_app_once() -> Any:
    """The one bare app of this process, made on first use (the worker imports `bare_app`)."""
    global _BARE
    if _BARE is None:
        _BARE = make_bare_app()
    return _BARE


def __getattr__(name: str) -> Any:
    if name == "bare_app":
        return bare_app_once()
    raise AttributeError(name)


def pool_default() -> int:
    """The worker pool size the product runs with (SANSHEN_WORKER_CONCURRENCY)."""
    from orchestrator.settings import get_settings

    return get_settings().worker_concurrency


def bare_worker_argv(concurrency: int | None = None) -> list[str]:
    """The real worker's command line, with the bare app and its queue."""
    from orchestrator.devstack import worker_argv

    argv = worker_argv(concurrency, ())
    argv[argv.index("-A") + 1] = "bench._stack.bare:bare_app"
    argv[argv.index("-Q") + 1] = BARE_QUEUE
    return argv
