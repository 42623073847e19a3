"""稿件用途: 综合科's stage before 签发, and the versions it makes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 00:00:00

Versions gain `reviewed_version_id` (a version 稿件用途 made by changing only the 审批表 rows
names the version whose 初审–终审 carry over) and `usage_exempt`. The gate now asks for
稿件用途 before 签发; a version already signed off when this revision runs was signed under the
rules of its day, so it is marked exempt and goes out as signed. Versions still in review are
not: they reach 综合科 like new ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # Plain ADD COLUMN on every database (SQLite's batch mode would rebuild `versions`, which
    # other tables refer to); SQLite takes a foreign key only inline.
    if bind.dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE versions ADD COLUMN reviewed_version_id INTEGER REFERENCES versions (id)"
        )
    else:
        op.add_column("versions", sa.Column("reviewed_version_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_versions_reviewed_version_id_versions",
            "versions",
            "versions",
            ["reviewed_version_id"],
            ["id"],
        )
    op.add_column(
        "versions",
        sa.Column("usage_exempt", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    bind.execute(
        sa.text(
            "UPDATE versions SET usage_exempt = :yes WHERE EXISTS ("
            " SELECT 1 FROM review_actions a"
            " WHERE a.submission_id = versions.submission_id"
            " AND a.fingerprint = versions.fingerprint"
            " AND a.stage = 'sign_off' AND a.decision = 'approve')"
        ),
        {"yes": True},
    )


def downgrade() -> None:
    op.drop_column("versions", "usage_exempt")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE versions DROP COLUMN reviewed_version_id")
    else:
        op.drop_constraint(
            "fk_versions_reviewed_version_id_versions", "versions", type_="foreignkey"
        )
        op.drop_column("versions", "reviewed_version_id")
