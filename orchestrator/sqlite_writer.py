"""SQLite's one write path: every writer of a database file, in any process, queues on one file
lock (flock) before BEGIN IMMEDIATE and gives it back when its transaction ends.

SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps 1, 2, 5,
10 … 100 ms between tries. A writer that has waited a little sleeps through the short gaps
between another process's back-to-back transactions and can starve for seconds (the
scheduler's claim did, in bench/schedule.py); the old cure, asking again every few ms with
busy_timeout 0, raised and caught an exception on every try and spent a tenth of the workers'
CPU on it. Here a waiter sleeps in the kernel on the lock file and is woken the moment the
holder's transaction ends: nothing is polled, nothing raised, and SQLite's own lock is free
whenever a writer reaches it (a writer outside this code, such as the `sqlite3` shell, is still
waited for by SQLite's busy handler). The kernel drops the lock of a process that dies, so a
killed worker never leaves it held.

The wait is bounded (`patience`, db.BUSY_TIMEOUT): past it the writer gets SQLite's own
"database is locked", as before.

Durability, decided per transaction (`durable`): FULL syncs the WAL at every commit (about
0.5 ms on this machine), NORMAL only at checkpoints (0.02 ms). NORMAL never loses a commit to a
crashed process, only to a power cut or a kernel crash, and then only the last transactions.
A transaction is durable unless its caller says it can be done again: the claim before a
platform call is durable (lost, the row would be sent a second time), and so is every action of
a person; the worker's record of a platform's answer and the scheduler's claim of due rows are
not (lost, the row is found `sending` or `scheduled` again, and the reconciler asks the platform
or the scheduler claims it again). A durable commit syncs every commit before it too.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from typing import Any

DURABLE_OPTION = "sanshen_durable"  # a connection execution option: False → synchronous=NORMAL


class WriteLock:
    """The lock file of one database. Each acquisition opens the file afresh: flock's lock
    belongs to the open file, so two connections of one process also wait for each other."""

    def __init__(self, path: str) -> None:
        self.path = path

    def acquire(self, patience: float) -> int | None:
        """The open, locked file's descriptor; None when `patience` seconds passed first."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        except BaseException:
            os.close(fd)
            raise
        return fd if _wait_in_kernel(fd, patience) else None


def _wait_in_kernel(fd: int, patience: float) -> bool:
    """A blocking flock in a helper thread, so the caller's wait can end: the helper keeps
    waiting after a give-up and then closes the file (unlocking it) instead of handing it on."""
    got = threading.Event()
    guard = threading.Lock()
    gave_up = False

    def wait() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # pragma: no cover - the descriptor is ours and open
            os.close(fd)
            return
        with guard:
            if gave_up:
                os.close(fd)
                return
            got.set()

    threading.Thread(target=wait, name="sanshen-sqlite-lock", daemon=True).start()
    if got.wait(patience):
        return True
    with guard:
        if got.is_set():
            return True
        gave_up = True
    return False


class WriterConnection(sqlite3.Connection):
    """A pysqlite connection that holds the write lock from `begin_write` until its
    transaction ends (commit, rollback or close), whatever ends it."""

    write_lock: WriteLock | None = None
    _held: int | None = None
    _synchronous: str = ""

    def begin_write(self, patience: float, durable: bool) -> None:
        """Wait for the lock file, then set this transaction's durability; the caller issues
        BEGIN IMMEDIATE next (and calls `release` if that fails)."""
        if self.write_lock is not None and self._held is None:
            fd = self.write_lock.acquire(patience)
            if fd is None:
                raise sqlite3.OperationalError("database is locked")
            self._held = fd
        synchronous = "FULL" if durable else "NORMAL"
        if synchronous != self._synchronous:  # may not change inside a transaction
            self.execute(f"PRAGMA synchronous={synchronous}")
            self._synchronous = synchronous

    def release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            os.close(held)  # closing the only descriptor of the open file unlocks it

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release()


def lock_path(database: str | None) -> str | None:
    """The lock file beside a database file; None for an in-memory database."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{os.path.abspath(database)}-writelock"


def writer_factory(path: str | None) -> type[WriterConnection]:
    """The connection class pysqlite builds (its `factory`), bound to one lock file."""
    lock = WriteLock(path) if path else None
    return type("BoundWriterConnection", (WriterConnection,), {"write_lock": lock})


def is_durable(options: dict[str, Any]) -> bool:
    return options.get(DURABLE_OPTION, True) is not False
