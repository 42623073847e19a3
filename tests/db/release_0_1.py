"""A database as release 0.1 left it: the schema of Alembic revision 0001, with content in it.

The content is made by the services (real keys, signatures, audit hashes) in a scratch SQLite
database at head, then every column that revision 0001 has is copied into a database built by
`alembic upgrade 0001` on the target (SQLite or PostgreSQL). Columns and tables added later are
left behind, exactly as a 0.1 installation would lack them. So are the row claims that audit
events carry since 0005 (orchestrator/attest.py): the chain is re-hashed without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, Table, inspect, select, text

from orchestrator.app import App
from orchestrator.audit import GENESIS, chain_hash
from orchestrator.db import Database
from orchestrator.migrate import current_revision, upgrade
from orchestrator.models import AuditEvent, Base
from orchestrator.settings import Settings
from tests.db.data import ORG_YAML_0_1, organisation, signed_off

PREVIOUS_RELEASE = "0001"


def build(target: Database, scratch: Path) -> dict[str, int]:
    """Fill `target` (empty) with a 0.1-era database; returns the row count of each table."""
    scratch.mkdir(parents=True, exist_ok=True)
    policy = scratch / "policy-0.1.yaml"  # 0.1 had no 稿件用途 (0008)
    policy.write_text("usage_decision: false\n", encoding="utf-8")
    source = App(Settings(data_dir=scratch, kdf_profile="min", policy_file=policy))
    source.settings.database_url = None  # always a scratch SQLite file, whatever DATABASE_URL
    upgrade(source.db)
    organisation(source, ORG_YAML_0_1)
    signed_off(source, "第一篇：周末延时服务")
    signed_off(source, "第二篇：一网通办新功能", channels=("gov_website", "wechat"))
    with source.db.engine.begin() as conn:  # 0.1 scheduled every row: it held none (0007)
        conn.execute(
            text("UPDATE publications SET state = 'scheduled', hold_until = NULL, note = NULL")
        )

    upgrade(target, PREVIOUS_RELEASE)
    assert current_revision(target) == PREVIOUS_RELEASE
    counts = copy_rows(source.db, target)
    source.db.dispose()
    return counts


def copy_rows(source: Database, target: Database) -> dict[str, int]:
    present = inspect(target.engine)
    old_tables = set(present.get_table_names()) - {"alembic_version"}
    counts: dict[str, int] = {}
    # The models' order respects foreign keys (use_alter breaks the one cycle).
    for model_table in Base.metadata.sorted_tables:
        if model_table.name not in old_tables:
            continue
        names = [c["name"] for c in present.get_columns(model_table.name)]
        old = Table(
            model_table.name,
            MetaData(),
            *(
                Column(n, model_table.c[n].type, primary_key=model_table.c[n].primary_key)
                for n in names
            ),
        )
        with source.read() as reading:
            rows = [
                dict(r._mapping)
                for r in reading.execute(
                    select(*(model_table.c[n] for n in names)).order_by(*model_table.primary_key)
                )
            ]
        if model_table.name in ("audit_events", "audit_head"):
            rows = _without_row_claims(rows, source)
        if rows:
            with target.engine.begin() as conn:
                conn.execute(old.insert(), rows)
        counts[model_table.name] = len(rows)
    if target.engine.dialect.name == "postgresql":
        _advance_sequences(target, {t for t in old_tables if "id" in Base.metadata.tables[t].c})
    return counts


def _without_row_claims(rows: list[dict[str, Any]], source: Database) -> list[dict[str, Any]]:
    """The chain (or its head) as 0.1 wrote it: payloads without "row", each hash recomputed."""
    with source.read() as reading:
        events = list(reading.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    prev, hashes = GENESIS, {}
    for e in events:
        payload = {k: v for k, v in e.payload.items() if k != "row"}
        hashes[e.id] = (
            prev,
            payload,
            chain_hash(prev, e.id, e.at, e.actor, e.action, e.subject, payload),
        )
        prev = hashes[e.id][2]
    if rows and "seq" in rows[0]:  # audit_head
        return [r | {"hash": prev} for r in rows]
    return [
        r | dict(zip(("prev_hash", "payload", "hash"), hashes[r["id"]], strict=True)) for r in rows
    ]


def _advance_sequences(target: Database, tables: set[str]) -> None:
    """Rows were copied with their ids: move each serial past them, as 0.1's own inserts had."""
    with target.engine.begin() as conn:
        for table in sorted(tables):
            sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})
            if sequence:
                conn.execute(
                    text(
                        f'SELECT setval(:s, coalesce((SELECT max(id) FROM "{table}"), 0) + 1, false)'
                    ),
                    {"s": sequence},
                )
