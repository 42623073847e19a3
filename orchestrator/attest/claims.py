"""Digests of a bound row's values and the claims an audit event carries about a row."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.attest.binding import BINDINGS, Binding
from orchestrator.models import Base


def canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def digest_values(columns: Iterable[str], values: Mapping[Any, Any]) -> str:
    body = json.dumps(
        {name: canonical(values[name]) for name in columns},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def digest(row: Base) -> str:
    binding = BINDINGS[row.__tablename__]
    return digest_values(binding.columns, {name: getattr(row, name) for name in binding.columns})


def claim(row: Base, *, state: str | None = None) -> dict[str, Any]:
    """The payload's "row" for an ORM row just created or changed (flushed, so it has its id)."""
    binding = BINDINGS[row.__tablename__]
    values = {name: getattr(row, name) for name in binding.columns}
    found: dict[str, Any] = {
        "table": binding.table,
        "id": values["id"],
        "digest": digest_values(binding.columns, values),
    }
    if binding.state_column:
        found["state"] = state or getattr(row, binding.state_column)
    return found


def fresh_claim(session: Session, binding: Binding, row_id: int) -> dict[str, Any]:
    """The claim for a row changed by a Core statement: its bound values read back (one query
    by primary key, inside the caller's transaction, so after its own change)."""
    table = binding.model_table()
    names = binding.read_columns()
    values = session.execute(select(*(table.c[n] for n in names)).where(table.c.id == row_id))
    row = values.one()._mapping
    found = {"table": binding.table, "id": row_id, "digest": digest_values(binding.columns, row)}
    if binding.state_column:
        found["state"] = row[binding.state_column]
    return found


def state_claim(binding: Binding, row_id: int, state: str) -> dict[str, Any]:
    """A move's claim: the state it reached; the bound columns did not change."""
    return {"table": binding.table, "id": row_id, "state": state}
