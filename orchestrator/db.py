"""Engine and sessions. SQLite by default (WAL, immediate transactions), any SQLAlchemy URL.

On a server database a lost connection is survived, not hidden: the pool tests each connection
before use (pool_pre_ping) and opening a new one waits, for a bounded time, for a server that
is restarting; the unit of work that was cut off still fails, and its caller decides whether to
run it again (see `retry_on_disconnect`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, create_engine, event, exc
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from orchestrator.sqlite_writer import DURABLE_OPTION, is_durable, lock_path, writer_factory

log = logging.getLogger("sanshen.db")
T = TypeVar("T")

# How long opening a connection waits for a server that is down (a restart, a fail-over).
CONNECT_PATIENCE = 15.0
# How long a statement waits for SQLite's write lock before "database is locked".
BUSY_TIMEOUT = 30.0
# Connection failures that waiting cannot cure: a wrong name, user or password.
_CONFIGURATION_ERRORS = ("does not exist", "authentication", "password", "pg_hba.conf")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; refuses naive ones; always returns aware UTC values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware values only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_setup(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front, so read-then-write never deadlocks on upgrade;
        # readers begin deferred and, under WAL, never wait for a writer.
        if not immediate:
            connection.exec_driver_sql("BEGIN")
            return
        # One write path (sqlite_writer): queue on the lock file, then BEGIN IMMEDIATE.
        dbapi = connection.connection.dbapi_connection
        try:
            try:
                dbapi.begin_write(BUSY_TIMEOUT, is_durable(connection.get_execution_options()))
            except sqlite3.OperationalError as error:  # waited BUSY_TIMEOUT for the lock file
                raise exc.OperationalError("BEGIN IMMEDIATE", None, error) from error
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi.release()
            raise


def _server_down(error: BaseException) -> bool:
    text = str(error)
    return not any(word in text for word in _CONFIGURATION_ERRORS)


def _patient_connect(engine: Engine) -> None:
    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
        operational = dialect.loaded_dbapi.OperationalError
        for attempt in Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, operational) and _server_down(e)),
            stop=stop_after_delay(CONNECT_PATIENCE),
            wait=wait_exponential(multiplier=0.1, max=2),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        ):
            with attempt:
                return dialect.connect(*cargs, **cparams)
        raise AssertionError("unreachable: tenacity reraises the last error")


def normalise_url(url: str) -> str:
    """postgresql:// means psycopg (3), the driver we ship, not SQLAlchemy's default psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    if url.startswith("sqlite"):
        connect_args: dict[str, Any] = {"timeout": BUSY_TIMEOUT}
        if not read_only:
            connect_args["factory"] = writer_factory(lock_path(make_url(url).database))
        engine = create_engine(url, connect_args=connect_args)
        _sqlite_setup(engine, immediate=not read_only)
        return engine
    engine = create_engine(normalise_url(url), pool_pre_ping=True)
    _patient_connect(engine)
    return engine


def is_disconnect(error: BaseException) -> bool:
    """The database went away under us (restart, fail-over, network): worth another try.
    Either SQLAlchemy saw the connection die, or the driver could not reach the server (no
    SQLSTATE: the server never answered); a lock timeout or a bad query is not retried."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return (
        isinstance(error, exc.OperationalError)
        and not isinstance(error.orig, sqlite3.Error)  # a file: there is no server to lose
        and getattr(error.orig, "sqlstate", None) is None
        and _server_down(error)
    )


def retry_on_disconnect(work: Callable[[], T], *, attempts: int = 5) -> T:
    """Run `work` (a whole unit of work) again when the connection was lost, a bounded number
    of times. Only for work that is safe to repeat: a compare-and-set that already committed
    finds nothing left to do the second time."""
    for attempt in Retrying(
        retry=retry_if_exception(is_disconnect),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.2, max=3),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    ):
        with attempt:
            return work()
    raise AssertionError("unreachable: tenacity reraises the last error")


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Work that can be done again if a power cut loses it (sqlite_writer): on SQLite its
        # commits are not synced one by one; elsewhere the same as `session`.
        self._redoable = sessionmaker(
            self.engine, expire_on_commit=False, execution_options={DURABLE_OPTION: False}
        )
        sqlite = url.startswith("sqlite")
        self._read_engine = make_engine(url, read_only=True) if sqlite else self.engine
        self._reads = sessionmaker(self._read_engine, expire_on_commit=False)
        self._on_dispose: list[Callable[[], None]] = []

    @contextmanager
    def session(self, *, durable: bool = True) -> Iterator[Session]:
        """A unit of work: commits when the block ends, rolls everything back on any error.

        `durable=False` for work that is safe to lose to a power cut and is found and done
        again afterwards (a platform's answer the reconciler can ask for again, a claim of due
        rows): on SQLite its commit is not synced to disk by itself (sqlite_writer)."""
        factory = self._sessions if durable else self._redoable
        with factory() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work: on SQLite it never holds the write lock."""
        with self._reads() as session, session.begin():
            yield session

    def writers(self) -> tuple[sessionmaker[Session], ...]:
        """The session factories whose commits write (for listeners such as wakeup.Waker)."""
        return (self._sessions, self._redoable)

    def on_dispose(self, close: Callable[[], None]) -> None:
        """`close` runs when the database is disposed (a listener's own connections)."""
        self._on_dispose.append(close)

    def dispose(self) -> None:
        for close in self._on_dispose:
            close()
        self.engine.dispose()
        self._read_engine.dispose()
