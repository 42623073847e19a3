"""The tasks. Each loads what it needs, calls one service, and returns a short word."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from orchestrator.app import App
from orchestrator.redis_embedded import client
from orchestrator.services import alerts, notifications, verification
from orchestrator.services.dispatch import DueRound, due_round, stale_queued
from orchestrator.services.hub import ChannelHub, RedisRateGate
from orchestrator.services.publishing.reconcile import reconcile as reconcile_round
from orchestrator.services.publishing.send import send
from orchestrator.services.publishing.shared import Context
from orchestrator.settings import get_settings
from tasks.app import app, queue_for


@cache
def context() -> Context:
    """What the publishing jobs work with, one per worker process, built after the fork
    (engines and sockets are not shared)."""
    application = App(get_settings())
    gate = RedisRateGate(client(app.conf.broker_url))
    return Context(application, ChannelHub(redis_url=app.conf.broker_url), gate)


def enqueue(rows: list[tuple[int, str]]) -> None:
    for pub_id, channel in rows:
        publish.apply_async(args=[pub_id], queue=queue_for(channel))


@app.task(name="sanshen.publish")
def publish(pub_id: int) -> str:
    return send(context(), pub_id)  # logs with the publication's ids


@app.task(name="sanshen.dispatch_due")
def dispatch_due() -> int:
    return dispatch_once()


@app.task(name="sanshen.reconcile")
def reconcile() -> dict[str, int]:
    return reconcile_once()


@app.task(name="sanshen.alerts")
def alert_round() -> dict[str, int]:
    return alerts_once()


# A round fetches at most `verify_batch` pages, each bounded in time: more than a send's limit.
@app.task(name="sanshen.verify_round", time_limit=900, soft_time_limit=840)
def verify_round() -> dict[str, int]:
    return verify_once()


@app.task(name="sanshen.notify")
def notify_round() -> dict[str, int]:
    return notify_once()


def notify_once() -> dict[str, int]:
    """Tell people what waits for them (services.notifications)."""
    return notifications.run_once(context().app)


def verify_once() -> dict[str, int]:
    """巡检: check the live pages whose time has come (services.verification)."""
    ctx = context()
    return verification.watch_round(ctx.app, ctx.hub)


def alerts_once() -> dict[str, int]:
    return alerts.run_once(context().app)


def dispatch_once() -> int:
    return len(dispatch_round().claimed)


def dispatch_round() -> DueRound:
    """Claim the due rows there is room for and hand them to the workers; say when the next
    row falls due (the scheduler sleeps until then, tasks.scheduler)."""
    ctx = context()
    # A lost database connection (PostgreSQL restarting) is retried; a claim that did commit
    # left its rows queued, so a retry cannot claim them twice.
    due = due_round(ctx.app.db, per_channel=ctx.settings.max_queued_per_channel)
    enqueue(due.claimed)  # after the commit: a task never sees a row that is not queued yet
    return due


def reconcile_once() -> dict[str, int]:
    ctx = context()
    with ctx.app.db.session(durable=False) as session:
        rows = stale_queued(
            session,
            now=datetime.now(UTC),
            older_than=timedelta(seconds=ctx.settings.queued_stale_after),
        )
    enqueue(rows)
    return reconcile_round(ctx) | {"requeued": len(rows)}
