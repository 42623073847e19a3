"""department scope of roles, delegations (代理) and signed 改期

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 05:20:00

Role rows gain the department they cover (null: the holder's own), whose duty a delegation
stands in for, who granted it and a note. A 分管领导 without a department of their own held
their role office-wide before this revision; so that every approval already given still counts,
each such open or past row is copied once per department (the office then narrows them with
`sanshen person in-charge`), and the copy is recorded in the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("role_assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("acting_for_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("granted_by", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("note", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.create_foreign_key(
            "fk_role_assignments_department_id_departments",
            "departments",
            ["department_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            "fk_role_assignments_acting_for_id_people", "people", ["acting_for_id"], ["id"]
        )
    op.create_table(
        "date_amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("old_date", sa.Date(), nullable=False),
        sa.Column("new_date", sa.Date(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["people.id"], name="fk_date_amendments_actor_id_people"
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name="fk_date_amendments_publication_id_publications",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_date_amendments_submission_id_submissions",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name="fk_date_amendments_version_id_versions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_date_amendments"),
    )
    with op.batch_alter_table("date_amendments", schema=None) as batch_op:
        batch_op.create_index("ix_date_amendments_submission_id", ["submission_id"], unique=False)
        batch_op.create_index("ix_date_amendments_publication_id", ["publication_id"], unique=False)
    _leaders_keep_their_scope()


def _leaders_keep_their_scope() -> None:
    from orchestrator import audit  # the chain's own append, as every other writer uses

    bind = op.get_bind()
    meta = sa.MetaData()
    roles = sa.Table("role_assignments", meta, autoload_with=bind)
    people = sa.Table("people", meta, autoload_with=bind)
    department_table = sa.Table("departments", meta, autoload_with=bind)
    departments = list(
        bind.execute(sa.select(department_table.c.id).order_by(department_table.c.id)).scalars()
    )
    leaders = bind.execute(
        sa.select(roles, people.c.username)
        .join(people, people.c.id == roles.c.person_id)
        .where(
            roles.c.role == "leader_in_charge",
            roles.c.department_id.is_(None),
            people.c.department_id.is_(None),
        )
        .order_by(roles.c.id)
    ).all()
    if not leaders or not departments:
        return
    session = Session(bind=bind)
    for row in leaders:
        first, *others = departments
        bind.execute(roles.update().where(roles.c.id == row.id).values(department_id=first))
        for department_id in others:
            bind.execute(
                roles.insert().values(
                    person_id=row.person_id,
                    role=row.role,
                    valid_from=row.valid_from,
                    valid_until=row.valid_until,
                    department_id=department_id,
                    granted_by="migration",
                    note="升级前分管领导不分科室；升级时按全部科室保留",
                )
            )
        audit.record(
            session,
            "role.scope_migrated",
            actor="migration",
            subject=f"person:{row.username}",
            payload={"role": row.role, "departments": departments},
            at=datetime.now(UTC),
        )
    session.flush()


def downgrade() -> None:
    with op.batch_alter_table("date_amendments", schema=None) as batch_op:
        batch_op.drop_index("ix_date_amendments_publication_id")
        batch_op.drop_index("ix_date_amendments_submission_id")
    op.drop_table("date_amendments")
    with op.batch_alter_table("role_assignments", schema=None) as batch_op:
        batch_op.drop_constraint("fk_role_assignments_acting_for_id_people", type_="foreignkey")
        batch_op.drop_constraint(
            "fk_role_assignments_department_id_departments", type_="foreignkey"
        )
        batch_op.drop_column("note")
        batch_op.drop_column("granted_by")
        batch_op.drop_column("acting_for_id")
        batch_op.drop_column("department_id")
