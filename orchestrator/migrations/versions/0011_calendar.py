"""the publishing calendar: 改期 requests, iCalendar feeds, planned rows by date

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:00:00

`date_change_requests` holds 政府网站运行科's requests to move a signed row to another day until
the 宣传分管领导 signs or refuses them (one pending per row). `calendar_feeds` holds the tokens
(SHA-256 only) of people's .ics subscriptions. `channel_requests.publish_date` gains an index for
the calendar's planned blocks.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orchestrator.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

MOMENT = orchestrator.db.UTCDateTime(timezone=True)
PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_table(
        "date_change_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("old_date", sa.Date(), nullable=False),
        sa.Column("new_date", sa.Date(), nullable=False),
        sa.Column("at_time", sa.String(length=5), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", MOMENT, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", MOMENT, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("amendment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_date_change_requests_publication_id_publications"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["people.id"],
            name=op.f("fk_date_change_requests_requested_by_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["people.id"],
            name=op.f("fk_date_change_requests_decided_by_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["amendment_id"],
            ["date_amendments.id"],
            name=op.f("fk_date_change_requests_amendment_id_date_amendments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_date_change_requests")),
    )
    op.create_index(
        op.f("ix_date_change_requests_publication_id"),
        "date_change_requests",
        ["publication_id"],
        unique=False,
    )
    op.create_index(
        "uq_date_change_requests_pending",
        "date_change_requests",
        ["publication_id"],
        unique=True,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("last_used_at", MOMENT, nullable=True),
        sa.Column("revoked_at", MOMENT, nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_calendar_feeds_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_index(
        op.f("ix_calendar_feeds_person_id"), "calendar_feeds", ["person_id"], unique=False
    )
    op.create_index(
        "ix_channel_requests_publish_date", "channel_requests", ["publish_date"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_channel_requests_publish_date", table_name="channel_requests")
    op.drop_index(op.f("ix_calendar_feeds_person_id"), table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
    op.drop_index("uq_date_change_requests_pending", table_name="date_change_requests")
    op.drop_index(op.f("ix_date_change_requests_publication_id"), table_name="date_change_requests")
    op.drop_table("date_change_requests")
