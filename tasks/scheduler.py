"""The scheduler loop (`sanshen scheduler`): claim and enqueue due rows when they fall due,
sleeping in between until the next due time or a word that a row became due (orchestrator/
wakeup.py), with a safety scan every SANSHEN_SCHEDULER_SAFETY_SCAN seconds; reconcile in a
thread of its own, so a slow round of platform checks never delays a due publication.

An alternative to `celery -A tasks beat` that does not wait for a free worker to run the poll.
Several may run at once against one database: claims are compare-and-set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis
from kombu.exceptions import OperationalError

from orchestrator import logs
from orchestrator.redis_embedded import client
from orchestrator.services.dispatch import DueRound
from orchestrator.services.health import marking
from orchestrator.wakeup import DUE, ROOM, Listener
from tasks.app import app
from tasks.jobs import (
    alerts_once,
    context,
    dispatch_round,
    notify_once,
    reconcile_once,
    verify_once,
)
from tasks.reports import BULLETIN_CHECK_EVERY
from tasks.reports import hand_over as hand_over_bulletin

BULLETIN_FIRST_CHECK = 60.0  # not at start-up: let the publishing catch up first

log = logging.getLogger("sanshen.scheduler")


# What an unreachable broker raises: kombu wraps redis-py's errors in OperationalError when it
# publishes; our own redis-py clients raise theirs; a socket may raise the builtin one.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
)


def broker_unreachable(error: BaseException) -> bool:
    """`error`, or one it was raised from, says the broker cannot be reached."""
    seen: BaseException | None = error
    for _ in range(10):  # a `raise ... from` chain is short; never loop on a cycle
        if seen is None:
            return False
        if isinstance(seen, BROKER_ERRORS):
            return True
        seen = seen.__cause__
    return False


class BrokerOutage:
    """The loops' shared view of the broker: one warning when the first loop finds it gone,
    one line when a loop that found it gone completes a round again; rounds in between are
    quiet (each would only repeat the same traceback)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down = False
        self._noticed_by: set[str] = set()

    def failed(self, loop: str, error: BaseException) -> None:
        with self._lock:
            self._noticed_by.add(loop)
            if self._down:
                return
            self._down = True
        log.warning(
            "消息队列（Redis）连接中断：%s（%s 循环），恢复后自动继续", _reason(error), loop
        )

    def succeeded(self, loop: str) -> None:
        with self._lock:
            if not (self._down and loop in self._noticed_by):
                return
            self._down = False
            self._noticed_by.clear()
        log.info("消息队列已恢复（%s 循环），继续运行", loop)


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__


def every(
    stop: threading.Event,
    interval: float,
    work: Callable[[], Any],
    name: str,
    outage: BrokerOutage | None = None,
) -> None:
    outage = outage or BrokerOutage()
    while not stop.is_set():
        started = time.monotonic()
        try:
            result = work()
        except Exception as error:  # the loop must outlive a database or broker hiccup
            if broker_unreachable(error):
                outage.failed(name, error)
            else:
                log.exception("%s round failed; retrying next round", name)
        else:
            outage.succeeded(name)
            if any(result.values()) if isinstance(result, dict) else result:
                log.info("%s: %s", name, result)
        stop.wait(max(0.0, interval - (time.monotonic() - started)))


STOP_CHECK = 1.0  # the longest a sleeping dispatch loop takes to notice `stop`
DUE_MARGIN = 0.001  # seconds past a due time to wake (clocks and timers are not exact)
ROOM_PACE = 0.1  # seconds between rounds that top up full channels' queues


def on_time(
    stop: threading.Event,
    safety_scan: float,
    work: Callable[[], DueRound],
    listener: Listener,
    outage: BrokerOutage,
) -> None:
    """Rounds of `work` when rows fall due: right after a round, sleep until its next due time,
    a word that rows became due (or that a full channel has room again, when due rows wait),
    or the safety scan, whichever comes first."""
    try:
        while not stop.is_set():
            listener.drain()  # a word from before this round: the round sees its rows
            started = time.monotonic()
            wait, backlog = safety_scan, False
            try:
                due = work()
            except Exception as error:  # the loop must outlive a database or broker hiccup
                if broker_unreachable(error):
                    outage.failed("dispatch", error)
                else:
                    log.exception("dispatch round failed; retrying next round")
                wait = min(safety_scan, 1.0)
            else:
                outage.succeeded("dispatch")
                if due.claimed:
                    log.info("dispatch: %s", len(due.claimed))
                backlog = due.backlog
                if due.next_due is not None:
                    # just past the due time, so the round finds the row due
                    until = (due.next_due - datetime.now(UTC)).total_seconds() + DUE_MARGIN
                    wait = min(wait, max(0.0, until))
            _sleep(
                stop, listener, time.monotonic() + wait, started + ROOM_PACE if backlog else None
            )
    finally:
        listener.close()


def _sleep(stop: threading.Event, listener: Listener, until: float, refill: float | None) -> None:
    """Until the monotonic time `until` or a DUE word, looking at `stop` every STOP_CHECK. A
    ROOM word (a worker took a queued row) matters only while due rows wait for room
    (`refill` set): then the next round comes at `refill` at the earliest, so a busy channel's
    queue is topped up a few times a second, not once per send."""
    while not stop.is_set():
        left = until - time.monotonic()
        if left <= 0:
            return
        word = listener.wait(min(left, STOP_CHECK))
        if word == DUE:
            return
        if word == ROOM and refill is not None:
            until = min(until, refill)


def run(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    logs.setup()
    settings = context().settings
    beat = client(app.conf.broker_url)  # each loop's last round, for the health snapshot
    outage = BrokerOutage()  # one warning per outage, whichever loop finds it
    # Alerts in a thread of their own too: a slow webhook must not delay a reconcile round.
    loops = (
        ("reconcile", settings.reconcile_interval, reconcile_once),
        ("alerts", settings.alert_interval, alerts_once),
        ("notify", settings.notify_interval, notify_once),
        # 巡检 in its own thread: a slow page waits within its bounds, never a dispatch round
        ("verify", settings.verify_interval, verify_once),
    )
    threads = [
        threading.Thread(
            target=every,
            args=(stop, interval, marking(work, name, beat), name, outage),
            name=f"sanshen-{name}",
            daemon=True,
        )
        for name, interval, work in loops
    ]
    threads.append(
        threading.Thread(
            target=_bulletins, args=(stop, outage), name="sanshen-bulletin", daemon=True
        )
    )
    for thread in threads:
        thread.start()
    dispatch = marking(dispatch_round, "dispatch", beat)
    on_time(stop, settings.scheduler_safety_scan, dispatch, Listener(app.conf.broker_url), outage)
    for thread in threads:
        thread.join(timeout=30)


def _bulletins(stop: threading.Event, outage: BrokerOutage) -> None:
    """What `celery -A tasks beat` does on the 1st at 08:00, for deployments without beat."""
    if not stop.wait(BULLETIN_FIRST_CHECK):
        every(stop, BULLETIN_CHECK_EVERY, hand_over_bulletin, "bulletin", outage)
