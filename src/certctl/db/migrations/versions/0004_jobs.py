"""Jobs: issuance, renewal and deployment work items with leases (C5, C12).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
# At most one open issuing job per certificate, enforced by the database so that two
# replicas scanning at once cannot both enqueue a renewal.
OPEN_ISSUING = (
    "status IN ('Pending', 'AwaitingCSR', 'AwaitingApproval', 'Running') "
    "AND type IN ('Issuance', 'Renewal')"
)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column(
            "certificate_id",
            sa.String(128),
            sa.ForeignKey("managed_certificates.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "target_id",
            sa.String(128),
            sa.ForeignKey("deployment_targets.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "agent_id",
            sa.String(128),
            sa.ForeignKey("agents.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("scheduled_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", TS, nullable=True),
        sa.Column("status_changed_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_jobs_status_scheduled_at", "jobs", ["status", "scheduled_at"])
    op.create_index("ix_jobs_certificate_id", "jobs", ["certificate_id"])
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])
    op.create_index(
        "uq_jobs_open_issuing_certificate",
        "jobs",
        ["certificate_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_ISSUING),
        postgresql_where=sa.text(OPEN_ISSUING),
    )


def downgrade() -> None:
    op.drop_index("uq_jobs_open_issuing_certificate", table_name="jobs")
    op.drop_index("ix_jobs_created_at", table_name="jobs")
    op.drop_index("ix_jobs_certificate_id", table_name="jobs")
    op.drop_index("ix_jobs_status_scheduled_at", table_name="jobs")
    op.drop_table("jobs")
