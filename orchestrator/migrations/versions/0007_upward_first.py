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
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hold_until", orchestrator.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repost_origin_id", sa.Integer(), nullable=True))
    bind = op.get_bind()
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
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_submissions_repost_origin_id", ["repost_origin_id"])
        batch_op.create_foreign_key(
            "fk_submissions_repost_origin_id_submissions",
            "submissions",
            ["repost_origin_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_submissions_repost_origin_id_submissions", type_="foreignkey")
        batch_op.drop_constraint("uq_submissions_repost_origin_id", type_="unique")
        batch_op.drop_column("repost_origin_id")
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_column("hold_until")
