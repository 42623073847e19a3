"""An index for the reconciler's rounds: the rows of a state whose check has fallen due.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 20:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.create_index("ix_publications_checks", ["state", "next_check_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_index("ix_publications_checks")
