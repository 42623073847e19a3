"""The database every test runs on.

Without SANSHEN_TEST_DATABASE the tests use SQLite files in their own temp folders, as before.
With SANSHEN_TEST_DATABASE=postgresql://user@host:port/postgres (a server, not a database),
each test gets a fresh database of its own, dropped afterwards, and DATABASE_URL points at it,
for this process and every process the test starts (they inherit os.environ).

On PostgreSQL the schema is never created behind anyone's back (`sanshen db upgrade` is an
operator's step), so a test's database comes already at the head revision: a copy of one
database migrated once per session, which is what an upgraded production database looks like.
A test marked `empty_database` gets a bare database from template0 instead (upgrade tests).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url

SERVER_VARIABLE = "SANSHEN_TEST_DATABASE"
EMPTY_MARK = "empty_database"


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


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine | None]:
    """An autocommit engine on the server's maintenance database (None on SQLite)."""
    url = server_url()
    if url is None:
        yield None
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    yield engine
    engine.dispose()


def create_database(admin: Engine, template: str = "template0") -> URL:
    name = f"t_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\''))
    return admin.url.set(database=name)


@pytest.fixture(scope="session")
def pg_head_template(pg_admin: Engine | None) -> Iterator[str | None]:
    """A database migrated to head once; each test's database is a copy of it."""
    if pg_admin is None:
        yield None
        return
    from orchestrator.db import Database
    from orchestrator.migrate import upgrade

    url = create_database(pg_admin)
    db = Database(url.render_as_string(hide_password=False))
    try:
        upgrade(db)
    finally:
        db.dispose()  # CREATE DATABASE ... TEMPLATE needs the template without connections
    yield url.database
    drop_database(pg_admin, url)


def drop_database(admin: Engine, url: URL) -> None:
    # WITH (FORCE) ends what a killed worker or a leaked pool still holds (PostgreSQL 13+).
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))


@pytest.fixture(autouse=True)
def _test_database(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str | None]:
    """On PostgreSQL: a database for this test alone, in DATABASE_URL; on SQLite: nothing."""
    if not on_postgresql():
        monkeypatch.delenv("DATABASE_URL", raising=False)
        yield None
        return
    admin = request.getfixturevalue("pg_admin")
    empty = request.node.get_closest_marker(EMPTY_MARK) is not None
    template = "template0" if empty else request.getfixturevalue("pg_head_template")
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
