"""audit coverage: review actions and publications attested in the audit chain

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 10:00:00

From this revision on, the events that create or change a review action or a publication carry
the row's digest (orchestrator/attest.py), and `audit verify` checks every such row against
the chain. Rows written before it have no digest yet: each gets one event appended to the
chain now (`review.attest` / `publication.attest`, actor "migration"), hashed exactly as
`audit.record` does, so an upgraded database verifies and a row changed after the upgrade is
named. A publication whose `publication.create` event is missing is not vouched for by this
event: verify and the send path still refuse it.

The bound columns are frozen here as they were at this revision: a later change to a binding
brings its own migration.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from orchestrator.attest import digest_values
from orchestrator.audit import GENESIS, chain_hash
from orchestrator.db import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ACTOR = "migration"
REVIEW_COLUMNS = (
    "id",
    "submission_id",
    "version_id",
    "fingerprint",
    "stage",
    "decision",
    "actor_id",
    "acted_at",
    "comment",
    "signature",
)
PUBLICATION_COLUMNS = (
    "id",
    "submission_id",
    "version_id",
    "channel",
    "scheduled_at",
    "idempotency_key",
    "source_platform",
    "source_url",
)
TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "acted_at": UTCDateTime(),
    "scheduled_at": UTCDateTime(),
    "signature": sa.LargeBinary(),
    "id": sa.Integer(),
    "submission_id": sa.Integer(),
    "version_id": sa.Integer(),
    "actor_id": sa.Integer(),
}

audit_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("at", UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("payload", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
audit_head = sa.table(
    "audit_head",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("hash", sa.String()),
)


def _table(name: str, columns: tuple[str, ...]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, TYPES.get(c, sa.String())) for c in columns))


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_subject", ["subject"], unique=False)
    _attest_existing_rows(op.get_bind())


def downgrade() -> None:
    # The attestation events stay: the chain is append-only, and older code ignores them.
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_subject")


def _attest_existing_rows(conn: sa.Connection) -> None:
    claimed = _claimed(conn)
    events: list[tuple[str, str, dict[str, Any]]] = []
    reviews = _table("review_actions", REVIEW_COLUMNS)
    for row in conn.execute(sa.select(reviews).order_by(reviews.c.id)).mappings():
        if ("review_actions", row["id"]) not in claimed:
            digest = digest_values(REVIEW_COLUMNS, row)
            claim = {"table": "review_actions", "id": row["id"], "digest": digest}
            events.append(("review.attest", f"submission:{row['submission_id']}", claim))
    pubs = _table("publications", (*PUBLICATION_COLUMNS, "state"))
    for row in conn.execute(sa.select(pubs).order_by(pubs.c.id)).mappings():
        if ("publications", row["id"]) not in claimed:
            digest = digest_values(PUBLICATION_COLUMNS, row)
            claim = {"table": "publications", "id": row["id"], "digest": digest}
            events.append(
                ("publication.attest", f"publication:{row['id']}", claim | {"state": row["state"]})
            )
    if events:
        _append(conn, events)


def _claimed(conn: sa.Connection) -> set[tuple[Any, Any]]:
    """Rows that some event already attests (none before this revision; a re-run after a
    downgrade must not attest a row twice)."""
    found: set[tuple[Any, Any]] = set()
    for (payload,) in conn.execute(sa.select(audit_events.c.payload)):
        row = (payload or {}).get("row")
        if isinstance(row, dict):
            found.add((row.get("table"), row.get("id")))
    return found


def _append(conn: sa.Connection, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """As audit.record does, for many events: each hashed over the one before, the head moved."""
    head = conn.execute(
        sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    ).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    at = datetime.now(UTC)
    rows = []
    for action, subject, claim in events:
        seq += 1
        payload = json.loads(json.dumps({"row": claim}, ensure_ascii=False, default=str))
        digest = chain_hash(prev, seq, at, ACTOR, action, subject, payload)
        rows.append(
            {
                "id": seq,
                "at": at,
                "actor": ACTOR,
                "action": action,
                "subject": subject,
                "payload": payload,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    conn.execute(audit_events.insert(), rows)
    if head:
        conn.execute(audit_head.update().where(audit_head.c.id == 1).values(seq=seq, hash=prev))
    else:
        conn.execute(audit_head.insert().values(id=1, seq=seq, hash=prev))
