"""Celery configuration: acks late, prefetch 1, a queue per channel, events on, no ETAs.

The visibility timeout is far above the task time limit, and no task is ever scheduled with an
ETA or countdown: retries and publish times live in the database and the poller enqueues them
when due, so nothing waits in Redis long enough to be delivered twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery, signals
from celery.schedules import crontab
from kombu import Queue

from channels.registry import channel_entries
from orchestrator.settings import get_settings

CONTROL_QUEUE = "sanshen"


def queue_for(channel: str) -> str:
    return f"publish.{channel}"


def broker_url() -> str:
    settings = get_settings()
    if settings.redis_url:
        return settings.redis_url
    from orchestrator.redis_embedded import ensure_running

    return ensure_running(settings.data_dir)


def _every(task: str, seconds: float) -> dict[str, Any]:
    """A beat entry: `task` every `seconds`."""
    return {"task": task, "schedule": timedelta(seconds=seconds)}


def make_app() -> Celery:
    settings = get_settings()
    celery = Celery("sanshen", include=["tasks.jobs", "tasks.reports"])
    celery.conf.update(
        broker_url=broker_url(),
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A pool process that grows past the bound is replaced after its current task.
        worker_max_memory_per_child=settings.worker_max_memory_mb * 1024,
        task_time_limit=settings.task_time_limit,
        task_soft_time_limit=max(1, int(settings.task_time_limit * 0.8)),
        task_ignore_result=True,
        task_default_queue=CONTROL_QUEUE,
        task_queues=[Queue(CONTROL_QUEUE)]
        + [Queue(queue_for(entry.name)) for entry in channel_entries()],
        worker_send_task_events=True,
        task_send_sent_event=True,
        worker_hijack_root_logger=False,
        timezone="Asia/Shanghai",
        enable_utc=True,
        beat_schedule={
            "dispatch-due": _every("sanshen.dispatch_due", settings.scheduler_interval),
            "reconcile": _every("sanshen.reconcile", settings.reconcile_interval),
            # 08:00 on the 1st in `timezone` (Asia/Shanghai): last month's 通报
            "monthly-bulletin": {
                "task": "sanshen.monthly_bulletin",
                "schedule": crontab(minute="0", hour="8", day_of_month="1"),
            },
            "alerts": _every("sanshen.alerts", settings.alert_interval),
            "verify": _every("sanshen.verify_round", settings.verify_interval),
            "notify": _every("sanshen.notify", settings.notify_interval),
        },
    )
    return celery


@signals.setup_logging.connect
def _setup_logging(loglevel: Any = None, logfile: str | None = None, **_: Any) -> None:
    """Our formatter (SANSHEN_LOG_FORMAT) instead of Celery's; connected, Celery adds none."""
    from orchestrator import logs

    logs.setup(level=loglevel or "INFO", logfile=logfile or None)


app = make_app()
