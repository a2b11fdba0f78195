"""The agent protocol: agents report their addresses; work and credentials are looked up fast (C7).

Revision ID: 0011_agent_protocol
Revises: 0010_discovery
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_agent_protocol"
down_revision = "0010_discovery"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("addresses", JSON, nullable=True))
    # Every agent request authenticates by its credential's hash; every poll reads its jobs.
    op.create_index("ix_agents_credential_hash", "agents", ["credential_hash"])
    op.create_index("ix_jobs_agent_id_status", "jobs", ["agent_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_jobs_agent_id_status", table_name="jobs")
    op.drop_index("ix_agents_credential_hash", table_name="agents")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("addresses")
