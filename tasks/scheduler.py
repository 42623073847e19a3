"""The scheduler loop (`sanshen scheduler`): enqueue due rows every interval; reconcile in a
thread of its own, so a slow round of platform checks never delays a due publication.

An alternative to `celery -A tasks beat` that does not wait for a free worker to run the poll.
Several may run at once against one database: claims are compare-and-set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from orchestrator import logs
from orchestrator.redis_embedded import client
from orchestrator.services.health import marking
from tasks.app import app
from tasks.jobs import alerts_once, dispatch_once, publisher, reconcile_once
from tasks.reports import issue as issue_bulletin

BULLETIN_CHECK_EVERY = 3600.0  # the previous month's bulletin, issued once (see tasks.reports)
BULLETIN_FIRST_CHECK = 60.0  # not at start-up: let the publishing catch up first

log = logging.getLogger("sanshen.scheduler")


def every(stop: threading.Event, interval: float, work: Callable[[], Any], name: str) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            result = work()
            if any(result.values()) if isinstance(result, dict) else result:
                log.info("%s: %s", name, result)
        except Exception:  # the loop must outlive a database or broker hiccup
            log.exception("%s round failed; retrying next round", name)
        stop.wait(max(0.0, interval - (time.monotonic() - started)))


def run(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    logs.setup()
    settings = publisher().settings
    beat = client(app.conf.broker_url)  # each loop's last round, for the health snapshot
    # Alerts in a thread of their own too: a slow webhook must not delay a reconcile round.
    loops = (
        ("reconcile", settings.reconcile_interval, reconcile_once),
        ("alerts", settings.alert_interval, alerts_once),
    )
    threads = [
        threading.Thread(
            target=every,
            args=(stop, interval, marking(work, name, beat), name),
            name=f"sanshen-{name}",
            daemon=True,
        )
        for name, interval, work in loops
    ]
    threads.append(
        threading.Thread(target=_bulletins, args=(stop,), name="sanshen-bulletin", daemon=True)
    )
    for thread in threads:
        thread.start()
    every(stop, settings.scheduler_interval, marking(dispatch_once, "dispatch", beat), "dispatch")
    for thread in threads:
        thread.join(timeout=30)


def _bulletins(stop: threading.Event) -> None:
    """What `celery -A tasks beat` does on the 1st at 08:00, for deployments without beat."""
    if not stop.wait(BULLETIN_FIRST_CHECK):
        every(stop, BULLETIN_CHECK_EVERY, issue_bulletin, "bulletin")
