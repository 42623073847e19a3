"""assisted channels and live-page verification (发布核验)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 03:00:00

Publications gain `mode` (api or assisted; every row so far went out through an API), and the
watch's columns `verdict`, `verified_at`, `next_verify_at`. Two new append-only tables:
`manual_actions` (a person's signed record of publishing or taking down by hand) and
`verifications` (each check of a live page, with the page's SHA-256 and snapshot).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import orchestrator.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MOMENT = orchestrator.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMN on every database (SQLite's batch mode would rebuild `publications`).
    op.add_column(
        "publications",
        sa.Column("mode", sa.String(length=16), nullable=False, server_default="api"),
    )
    op.add_column("publications", sa.Column("verdict", sa.String(length=16), nullable=True))
    op.add_column("publications", sa.Column("verified_at", MOMENT, nullable=True))
    op.add_column("publications", sa.Column("next_verify_at", MOMENT, nullable=True))
    op.create_index(
        op.f("ix_publications_next_verify_at"), "publications", ["next_verify_at"], unique=False
    )
    op.create_table(
        "manual_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("acted_at", MOMENT, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["people.id"], name=op.f("fk_manual_actions_actor_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_manual_actions_publication_id_publications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manual_actions")),
    )
    op.create_index(
        op.f("ix_manual_actions_publication_id"),
        "manual_actions",
        ["publication_id"],
        unique=False,
    )
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", MOMENT, nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("final_url", sa.String(length=1000), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("page_sha256", sa.String(length=64), nullable=False),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_verifications_publication_id_publications"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_sha256"],
            ["blobs.sha256"],
            name=op.f("fk_verifications_snapshot_sha256_blobs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
    )
    op.create_index(
        op.f("ix_verifications_publication_id"),
        "verifications",
        ["publication_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_verifications_publication_id"), table_name="verifications")
    op.drop_table("verifications")
    op.drop_index(op.f("ix_manual_actions_publication_id"), table_name="manual_actions")
    op.drop_table("manual_actions")
    op.drop_index(op.f("ix_publications_next_verify_at"), table_name="publications")
    for column in ("next_verify_at", "verified_at", "verdict", "mode"):
        op.drop_column("publications", column)
