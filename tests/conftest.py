"""The database every test runs on.

Without SANSHEN_TEST_DATABASE the tests use SQLite files in their own temp folders, as before.
With SANSHEN_TEST_DATABASE=postgresql://user@host:port/postgres (a server, not a database),
each test gets a fresh database of its own, dropped afterwards, and DATABASE_URL points at it,
for this process and every process the test starts (they inherit os.environ).

A module- or session-scoped fixture (a server, a seeded app) gets a database of its own in the
same way, for as long as it lives (see pytest_fixture_setup below).

On PostgreSQL the schema is never created behind anyone's back (`sanshen db upgrade` is an
operator's step), so a test's database comes already at the head revision: a copy of one
database migrated once per session, which is what an upgraded production database looks like.
A test marked `empty_database` gets a bare database from template0 instead (upgrade tests).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url

SERVER_VARIABLE = "SANSHEN_TEST_DATABASE"
EMPTY_MARK = "empty_database"

# Hypothesis runs seeded (pyproject's addopts: --hypothesis-seed) and keeps the examples it
# found failing in SANSHEN_HYPOTHESIS_DB (CI: its cache folder), so a failure comes back first.
settings.register_profile(
    "sanshen",
    database=DirectoryBasedExampleDatabase(
        os.environ.get("SANSHEN_HYPOTHESIS_DB", ".hypothesis/examples")
    ),
)
settings.load_profile("sanshen")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{EMPTY_MARK}: on PostgreSQL, start from an empty database (no schema)"
    )


def server_url() -> URL | None:
    raw = os.environ.get(SERVER_VARIABLE, "").strip()
    if not raw:
        return None
    url = make_url(raw)
    if not url.drivername.startswith("postgresql"):
        raise pytest.UsageError(f"{SERVER_VARIABLE} must be a postgresql:// URL, got {raw!r}")
    # psycopg (3) is the driver we ship; SQLAlchemy's bare postgresql:// means psycopg2.
    return url.set(drivername="postgresql+psycopg")


def on_postgresql() -> bool:
    return server_url() is not None


class _Server:
    """The PostgreSQL server of this run: an admin engine and the head template, made lazily."""

    def __init__(self) -> None:
        self._admin: Engine | None = None
        self._template: URL | None = None

    def admin(self) -> Engine:
        if self._admin is None:
            url = server_url()
            assert url is not None
            self._admin = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        return self._admin

    def head_template(self) -> str:
        """A database migrated to head once; the tests' databases are copies of it."""
        if self._template is None:
            from orchestrator.db import Database
            from orchestrator.migrate import upgrade

            url = create_database(self.admin())
            db = Database(url.render_as_string(hide_password=False))
            try:
                upgrade(db)
            finally:
                db.dispose()  # CREATE DATABASE ... TEMPLATE needs it without connections
            self._template = url
        assert self._template.database is not None
        return self._template.database

    def close(self) -> None:
        if self._admin is None:
            return
        if self._template is not None:
            drop_database(self._admin, self._template)
        self._admin.dispose()


_SERVER = _Server()


# The README's promise about skips, checked: on SQLite only the tests whose reason starts with
# this (they need a PostgreSQL server, and run in CI's PostgreSQL suite) may skip; on PostgreSQL
# nothing may. Any other skip fails the run.
POSTGRESQL_ONLY = "PostgreSQL only (runs in the PostgreSQL suite)"
_unexpected_skips: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped or getattr(report, "wasxfail", None) is not None:
        return
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report)
    if on_postgresql() or not reason.removeprefix("Skipped: ").startswith(POSTGRESQL_ONLY):
        _unexpected_skips.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    _SERVER.close()
    if _unexpected_skips:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line("Skipped, which the README says never happens here:", red=True)
            for line in _unexpected_skips:
                reporter.write_line(f"  {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def pg_admin() -> Engine | None:
    """An autocommit engine on the server's maintenance database (None on SQLite)."""
    return _SERVER.admin() if on_postgresql() else None


def create_database(admin: Engine, template: str = "template0") -> URL:
    name = f"t_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\''))
    return admin.url.set(database=name)


@pytest.fixture(scope="session")
def pg_head_template() -> str | None:
    """The name of the database at head that each test's database copies (None on SQLite)."""
    return _SERVER.head_template() if on_postgresql() else None


def drop_database(admin: Engine, url: URL) -> None:
    # WITH (FORCE) ends what a killed worker or a leaked pool still holds (PostgreSQL 13+).
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))


# Fixtures of this file, and pytest's own, need no database of their own.
_NO_DATABASE = {"pg_admin", "pg_head_template", "_test_database"}


@pytest.hookimpl(wrapper=True)
def database_per_wide_fixture(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Any:
    """On PostgreSQL a module- or session-scoped fixture of the project's tests (a server, a
    seeded app) is built with DATABASE_URL pointing at a database of its own, which lives as
    long as the fixture: the databases of single tests come and go under it."""
    wide = fixturedef.scope in ("module", "session", "package", "class")
    ours = fixturedef.baseid.startswith("tests") and fixturedef.argname not in _NO_DATABASE
    if not (on_postgresql() and wide and ours):
        return (yield)
    admin = _SERVER.admin()
    url = create_database(admin, _SERVER.head_template())
    fixturedef.addfinalizer(lambda: drop_database(admin, url))
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
    _clear_settings_cache()
    try:
        return (yield)
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        _clear_settings_cache()


@pytest.fixture(autouse=True)
def _test_database(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str | None]:
    """On PostgreSQL: a database for this test alone, in DATABASE_URL; on SQLite: nothing."""
    if not on_postgresql():
        monkeypatch.delenv("DATABASE_URL", raising=False)
        yield None
        return
    admin = _SERVER.admin()
    empty = request.node.get_closest_marker(EMPTY_MARK) is not None
    template = "template0" if empty else _SERVER.head_template()
    url = create_database(admin, template)
    rendered = url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", rendered)
    _clear_settings_cache()
    try:
        yield rendered
    finally:
        _clear_settings_cache()
        drop_database(admin, url)


def _clear_settings_cache() -> None:
    from orchestrator.settings import get_settings

    get_settings.cache_clear()


def database_env(database_url: str) -> dict[str, str]:
    """For a process started against a server fixture's data folder: the database that server
    uses (on PostgreSQL the test's own DATABASE_URL names another one); {} on SQLite, where the
    data folder names the database."""
    return {} if database_url.startswith("sqlite") else {"DATABASE_URL": database_url}
