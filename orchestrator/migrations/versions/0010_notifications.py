"""telling people: notifications, their addresses and choices, urgent items

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 07:00:00

People gain `wecom_userid`, `email`, `notify_via` and `notify_digest`; submissions `urgent`
(stage deadlines in hours). The new `notifications` table is the outbox of messages to people,
one row per event and person (`dedup_key`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orchestrator.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MOMENT = orchestrator.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column("people", sa.Column("wecom_userid", sa.String(length=64), nullable=True))
    op.add_column("people", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column(
        "people",
        sa.Column("notify_via", sa.String(length=32), nullable=False, server_default="wecom,email"),
    )
    op.add_column(
        "people",
        sa.Column("notify_digest", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "submissions",
        sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("publication_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", MOMENT, nullable=True),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.Column("via", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_notifications_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_notifications_submission_id_submissions"),
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_notifications_publication_id_publications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notifications_dedup_key")),
    )
    op.create_index(
        "ix_notifications_delivery", "notifications", ["state", "next_try_at"], unique=False
    )
    op.create_index(
        op.f("ix_notifications_person_id"), "notifications", ["person_id"], unique=False
    )
    op.create_index(
        op.f("ix_notifications_submission_id"), "notifications", ["submission_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_submission_id"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_person_id"), table_name="notifications")
    op.drop_index("ix_notifications_delivery", table_name="notifications")
    op.drop_table("notifications")
    op.drop_column("submissions", "urgent")
    for column in ("notify_digest", "notify_via", "email", "wecom_userid"):
        op.drop_column("people", column)
