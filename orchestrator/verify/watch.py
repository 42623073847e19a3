"""The wall-clock deadline of a fetch: a watchdog thread shuts down the socket of a request
whose deadline has passed, which wakes a read blocked on a server that sends one byte at a
time (a read timeout alone never fires on such a server)."""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any


class Watch:
    __slots__ = ("conn", "deadline", "done", "expired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.conn: Any = None
        self.expired = False
        self.done = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expire(self) -> None:
        self.expired = True
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            with suppress(OSError, ValueError, TypeError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that expires watches at their deadlines."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._cond = threading.Condition()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, watch: Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watch.deadline, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sanshen-verify-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].expire()


_WATCHDOG = _Watchdog()
CURRENT: ContextVar[Watch | None] = ContextVar("sanshen_verify_watch", default=None)


def _after_fork() -> None:
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


os.register_at_fork(after_in_child=_after_fork)


@contextmanager
def deadline(seconds: float) -> Iterator[Watch]:
    """Requests made inside are cut off `seconds` from now."""
    watch = Watch(max(seconds, 0.0))
    token = CURRENT.set(watch)
    _WATCHDOG.arm(watch)
    try:
        yield watch
    finally:
        watch.done = True
        watch.conn = None
        CURRENT.reset(token)
