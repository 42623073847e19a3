"""The declarative base every model shares (one metadata, with named constraints) and the
clock the models default to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, MetaData
from sqlalchemy.orm import DeclarativeBase

from orchestrator.db import UTCDateTime

MODELS_PACKAGE = "orchestrator.models"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    # Named constraints, so migrations can alter them on every database (SQLite batch mode too).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}  # noqa: RUF012

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        # A flush inserts the rows of tables with no relationship() between them in the order
        # of their mappers' "module.Class" keys (a Blob before the Verification that names it
        # as its snapshot, a Publication after the DateAmendment naming it). The models were one
        # module, orchestrator.models: their keys stay what they were, so flushes run as before.
        cls.__mapper__._sort_key = f"{MODELS_PACKAGE}.{cls.__name__}"
