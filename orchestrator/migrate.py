"""Alembic, driven from code: `sanshen db upgrade` and first start use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from orchestrator.db import Database
from orchestrator.errors import InvalidInput

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    config = alembic_config(db)
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def ensure_schema(db: Database) -> None:
    """SQLite (the embedded default) is migrated on first use; any other database must be
    upgraded on purpose with `sanshen db upgrade`, so replicas never race to migrate."""
    if current_revision(db) == head_revision(db):
        return
    if db.url.startswith("sqlite"):
        upgrade(db)
        return
    raise InvalidInput(
        "数据库结构不是最新版本，请先运行 sanshen db upgrade", code="schema_out_of_date"
    )
