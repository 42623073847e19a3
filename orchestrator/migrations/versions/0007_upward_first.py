"""upward first, then one repost: held rows and the repost's original submission

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 21:00:00

Publications gain `hold_until` (a row held for an upward adoption: when the wait is overdue).
Submissions gain `repost_origin_id`, the original submission a repost reposts, unique: one
repost per original. Reposts drafted before this revision get it from the upward publication
they name (`repost_of_id`); where one original already had several (each adoption drafted one),
the first keeps the link and the later ones stay as they are, unlinked, so the constraint holds
without deleting anything. Neither column is bound by the audit chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orchestrator.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on every database: SQLite's batch mode would rebuild `submissions`, which
    # other tables' foreign keys refer to.
    op.add_column(
        "publications",
        sa.Column("hold_until", orchestrator.db.UTCDateTime(timezone=True), nullable=True),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # a foreign key only inline, as SQLite adds columns
        op.execute(
            "ALTER TABLE submissions ADD COLUMN repost_origin_id INTEGER "
            "REFERENCES submissions (id)"
        )
    else:
        op.add_column("submissions", sa.Column("repost_origin_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_submissions_repost_origin_id_submissions",
            "submissions",
            "submissions",
            ["repost_origin_id"],
            ["id"],
        )
    rows = bind.execute(
        sa.text(
            "SELECT s.id, p.submission_id FROM submissions s "
            "JOIN publications p ON p.id = s.repost_of_id ORDER BY s.id"
        )
    ).all()
    linked: set[int] = set()
    for repost_id, origin_id in rows:
        if origin_id in linked:
            continue
        linked.add(origin_id)
        bind.execute(
            sa.text("UPDATE submissions SET repost_origin_id = :origin WHERE id = :id"),
            {"origin": origin_id, "id": repost_id},
        )
    op.create_index(
        "uq_submissions_repost_origin_id", "submissions", ["repost_origin_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_submissions_repost_origin_id", table_name="submissions")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE submissions DROP COLUMN repost_origin_id")
    else:
        op.drop_constraint(
            "fk_submissions_repost_origin_id_submissions", "submissions", type_="foreignkey"
        )
        op.drop_column("submissions", "repost_origin_id")
    op.drop_column("publications", "hold_until")
