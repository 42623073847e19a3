"""SQLite's one write path (orchestrator/sqlite_writer.py): writers of one database file queue on
a file lock, in the kernel, and never raise-and-retry for SQLite's lock; the wait is bounded;
a process that dies with the lock lets the others in; each transaction's durability is the one
its caller asked for. SQLite only: a server database has no such lock."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, exc, text

from orchestrator import db as dbmod
from orchestrator.db import Database


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with database.session() as session:
        session.execute(text("CREATE TABLE t (writer TEXT, n INTEGER)"))
    yield database
    database.dispose()


def _begins_that_failed(database: Database) -> list[str]:
    """Every statement that raised, as the engine saw it (a polling BEGIN IMMEDIATE would)."""
    failed: list[str] = []

    @event.listens_for(database.engine, "handle_error")
    def _seen(context: exc.ExceptionContext) -> None:
        failed.append(context.statement or "")

    return failed


def holding_the_lock(database: Database) -> tuple[threading.Event, threading.Thread]:
    """A writer in another thread inside its transaction (row 'holder'), until `let_go` is set."""
    holding, let_go = threading.Event(), threading.Event()

    def holder() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES ('holder', 0)"))
            holding.set()
            let_go.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)
    return let_go, thread


def test_writers_of_one_file_take_turns_without_a_single_failed_begin(database: Database) -> None:
    failed = _begins_that_failed(database)
    start = threading.Barrier(4)
    inside = threading.Lock()
    overlaps: list[str] = []

    def write(name: str) -> None:
        start.wait()
        for n in range(60):
            with database.session(durable=n % 2 == 0) as session:
                # the transaction (and the lock) begins with the first statement
                session.execute(text("INSERT INTO t VALUES (:w, :n)"), {"w": name, "n": n})
                if not inside.acquire(blocking=False):
                    overlaps.append(name)  # two writers inside at once
                    continue
                time.sleep(0.0005)
                inside.release()

    threads = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert failed == []  # nobody's BEGIN IMMEDIATE was refused and asked again
    with database.read() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 240


def test_a_waiting_writer_is_let_in_as_soon_as_the_holder_commits(database: Database) -> None:
    waited: list[float] = []
    let_go, thread = holding_the_lock(database)
    released_at: list[float] = []

    def release_soon() -> None:
        time.sleep(0.3)
        released_at.append(time.monotonic())
        let_go.set()

    threading.Thread(target=release_soon).start()
    with database.session() as session:
        session.execute(text("INSERT INTO t VALUES ('waiter', 1)"))  # waits here
        waited.append(time.monotonic())
    thread.join()
    # in the order of the two transactions, and not before the holder let go
    assert waited[0] >= released_at[0]
    with database.read() as session:
        rows = session.execute(text("SELECT writer FROM t ORDER BY rowid")).scalars().all()
    assert rows == ["holder", "waiter"]


def test_the_wait_is_bounded_and_ends_in_sqlites_own_error(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT", 0.3)
    let_go, thread = holding_the_lock(database)
    try:
        with (
            pytest.raises(exc.OperationalError, match="database is locked"),
            database.session() as session,
        ):
            session.execute(text("INSERT INTO t VALUES ('late', 1)"))
    finally:
        let_go.set()
        thread.join()
    # the writer that gave up left nothing behind: the next one goes straight in
    with database.session() as session:
        session.execute(text("INSERT INTO t VALUES ('next', 2)"))
    with database.read() as session:
        rows = session.execute(text("SELECT writer FROM t ORDER BY rowid")).scalars().all()
    assert rows == ["holder", "next"]


def test_a_failed_transaction_gives_the_lock_back(database: Database) -> None:
    with pytest.raises(exc.OperationalError), database.session() as session:
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))
    done = threading.Event()

    def other() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES ('other', 1)"))
        done.set()

    threading.Thread(target=other).start()
    assert done.wait(5)


def _hold_and_die(url: str, ready: multiprocessing.synchronize.Event) -> None:
    database = Database(url)
    with database.session() as session:
        session.execute(text("INSERT INTO t VALUES ('dead', 0)"))
        ready.set()
        time.sleep(60)  # killed here, inside its transaction


def test_a_writer_killed_inside_its_transaction_lets_the_others_in(database: Database) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    child = context.Process(target=_hold_and_die, args=(database.url, ready))
    child.start()
    try:
        assert ready.wait(30)
        os.kill(child.pid or 0, signal.SIGKILL)
    finally:
        child.join(10)
    with database.session() as session:
        session.execute(text("INSERT INTO t VALUES ('alive', 1)"))
    with database.read() as session:
        rows = session.execute(text("SELECT writer FROM t")).scalars().all()
    assert rows == ["alive"]  # the killed one's insert was never committed


def test_each_transaction_has_the_durability_its_caller_asked_for(database: Database) -> None:
    for durable, level in ((False, 1), (True, 2), (False, 1), (True, 2)):
        with database.session(durable=durable) as session:
            assert session.execute(text("PRAGMA synchronous")).scalar() == level
