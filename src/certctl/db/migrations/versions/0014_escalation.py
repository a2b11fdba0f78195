"""Escalation of unacknowledged critical alerts and per-owner digests (C3).

Revision ID: 0014_escalation
Revises: 0013_silences_quiet_hours
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_escalation"
down_revision = "0013_silences_quiet_hours"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("owners") as batch:
        # Per-owner digests are opt-in: every existing owner starts with none.
        batch.add_column(sa.Column("digest", sa.String(16), nullable=False, server_default="off"))
    with op.batch_alter_table("renewal_policies") as batch:
        batch.add_column(sa.Column("escalation_after_minutes", sa.Integer, nullable=True))
        # Existing policies do not escalate: no channels.
        batch.add_column(
            sa.Column("escalation_channels", JSON, nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("escalation_level", sa.Integer, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("escalation_level")
        batch.drop_column("escalated_at")
    with op.batch_alter_table("renewal_policies") as batch:
        batch.drop_column("escalation_channels")
        batch.drop_column("escalation_after_minutes")
    with op.batch_alter_table("owners") as batch:
        batch.drop_column("digest")
