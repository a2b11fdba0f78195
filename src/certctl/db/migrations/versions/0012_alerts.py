"""Alerts as stateful objects, with their deliveries linked beneath them (C3).

Revision ID: 0012_alerts
Revises: 0011_agent_protocol
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_alerts"
down_revision = "0011_agent_protocol"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column(
            "certificate_id",
            sa.String(128),
            sa.ForeignKey("managed_certificates.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("version_id", sa.String(128), nullable=False),
        sa.Column("threshold", sa.String(16), nullable=True),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("incident_key", sa.String(255), nullable=False),
        # One alert per (kind, certificate version, threshold): replicas racing on the same
        # scan insert it once.
        sa.Column("dedup_key", sa.String(64), nullable=False, unique=True),
        sa.Column("cause", sa.Text, nullable=True),
        sa.Column("job_id", sa.String(128), nullable=True),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolve_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_alerts_certificate_id", "alerts", ["certificate_id"])
    op.create_index("ix_alerts_state_tier", "alerts", ["state", "tier"])
    with op.batch_alter_table("notification_events") as batch:
        batch.add_column(sa.Column("alert_id", sa.String(128), nullable=True))
        batch.create_foreign_key(
            "fk_notification_events_alert_id", "alerts", ["alert_id"], ["id"], ondelete="RESTRICT"
        )
        batch.create_index("ix_notification_events_alert_id", ["alert_id"])


def downgrade() -> None:
    with op.batch_alter_table("notification_events") as batch:
        batch.drop_index("ix_notification_events_alert_id")
        batch.drop_constraint("fk_notification_events_alert_id", type_="foreignkey")
        batch.drop_column("alert_id")
    op.drop_index("ix_alerts_state_tier", table_name="alerts")
    op.drop_index("ix_alerts_certificate_id", table_name="alerts")
    op.drop_table("alerts")
