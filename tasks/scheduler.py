"""The scheduler loop (`sanshen scheduler`): enqueue due rows every interval, reconcile often.

An alternative to `celery -A tasks beat` that does not wait for a free worker to run the poll.
Several may run at once against one database: claims are compare-and-set.
"""

from __future__ import annotations

import logging
import threading
import time

from tasks.jobs import dispatch_once, publisher, reconcile_once

log = logging.getLogger("sanshen.scheduler")


def run(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    settings = publisher().settings
    interval = settings.scheduler_interval
    next_reconcile = 0.0
    while not stop.is_set():
        started = time.monotonic()
        try:
            sent = dispatch_once()
            if sent:
                log.info("enqueued %d due publications", sent)
            if started >= next_reconcile:
                reconcile_once()
                next_reconcile = started + settings.reconcile_interval
        except Exception:  # the loop must outlive a database or broker hiccup
            log.exception("scheduler round failed; retrying next round")
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
