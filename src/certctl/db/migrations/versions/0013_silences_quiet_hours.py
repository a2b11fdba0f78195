"""Silences, quiet hours, rate-limit digests and per-team routing overrides (C3).

Revision ID: 0013_silences_quiet_hours
Revises: 0012_alerts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_silences_quiet_hours"
down_revision = "0012_alerts"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("notification_events") as batch:
        # The silence that muted a row, and the digest row an over-limit row was folded into.
        batch.add_column(sa.Column("silence_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("digest_id", sa.String(128), nullable=True))
        batch.create_index("ix_notification_events_digest_id", ["digest_id"])
    op.create_table(
        "silences",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("certificate_id", sa.String(128), nullable=True),
        sa.Column("owner_id", sa.String(128), nullable=True),
        sa.Column("team_id", sa.String(128), nullable=True),
        sa.Column("environment", sa.String(64), nullable=True),
        sa.Column("issuer_id", sa.String(128), nullable=True),
        sa.Column("tag", sa.String(255), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_silences_ends_at", "silences", ["ends_at"])
    op.create_table(
        "quiet_hours",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("weekdays", JSON, nullable=False),
        sa.Column("start", sa.String(5), nullable=False),
        sa.Column("end", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column(
            "team_id",
            sa.String(128),
            sa.ForeignKey("teams.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "route_overrides",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column(
            "team_id",
            sa.String(128),
            sa.ForeignKey("teams.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "owner_id",
            sa.String(128),
            sa.ForeignKey("owners.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("tier", sa.String(16), nullable=True),
        sa.Column("config", JSON, nullable=False),
        sa.Column("sealed_secrets", sa.Text, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("route_overrides")
    op.drop_table("quiet_hours")
    op.drop_index("ix_silences_ends_at", table_name="silences")
    op.drop_table("silences")
    with op.batch_alter_table("notification_events") as batch:
        batch.drop_index("ix_notification_events_digest_id")
        batch.drop_column("digest_id")
        batch.drop_column("silence_id")
