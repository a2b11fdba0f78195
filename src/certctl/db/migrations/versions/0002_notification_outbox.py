"""Notification outbox (notification_events) and database-defined notification channels.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_events",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "certificate_id",
            sa.String(128),
            sa.ForeignKey("managed_certificates.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        sa.Column("version_ref", sa.String(128), nullable=False),
        sa.Column("threshold_days", sa.Integer(), nullable=True),
        sa.Column("days_until_expiry", sa.Integer(), nullable=True),
        sa.Column("severity_tier", sa.String(16), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("context", JSON, nullable=False),
        sa.Column("incident_key", sa.String(255), nullable=False),
        # One alert per (certificate, version, threshold, channel): replicas racing on the
        # same decision conflict here, so the second insert is a counted dedup (C2).
        sa.Column("dedup_key", sa.String(64), nullable=True, unique=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_retry_at", TS, nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("read_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index(
        "ix_notification_events_status_next_retry",
        "notification_events",
        ["status", "next_retry_at"],
    )
    op.create_index(
        "ix_notification_events_certificate_id", "notification_events", ["certificate_id"]
    )
    op.create_index("ix_notification_events_created_at", "notification_events", ["created_at"])
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("sealed_secrets", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_channels")
    op.drop_index("ix_notification_events_created_at", table_name="notification_events")
    op.drop_index("ix_notification_events_certificate_id", table_name="notification_events")
    op.drop_index("ix_notification_events_status_next_retry", table_name="notification_events")
    op.drop_table("notification_events")
