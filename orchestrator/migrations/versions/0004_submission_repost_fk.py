"""submissions.repost_of_id foreign key on servers that take ALTER

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:45:00

Revision 0001 declared this key with `use_alter=True` inside `create_table`; Alembic does not emit
such keys there, so PostgreSQL never got it (SQLite, which cannot ALTER, got it inline).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NAME = "fk_submissions_repost_of_id_publications"


def _present() -> bool:
    keys = sa.inspect(op.get_bind()).get_foreign_keys("submissions")
    return any(key.get("name") == NAME for key in keys)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite" and not _present():
        op.create_foreign_key(NAME, "submissions", "publications", ["repost_of_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite" and _present():
        op.drop_constraint(NAME, "submissions", type_="foreignkey")
