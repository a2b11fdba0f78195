"""Issuer connectors: ACME accounts, HTTP-01 challenge answers, order state on jobs (C5).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        # Where a long-running order stands (ACME order URL, CSR): a restart resumes it.
        batch.add_column(sa.Column("order_state", JSON, nullable=True))
    op.create_table(
        "acme_accounts",
        sa.Column(
            "issuer_id",
            sa.String(128),
            sa.ForeignKey("issuers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("directory_url", sa.Text, nullable=False),
        sa.Column("sealed_key", sa.Text, nullable=False),
        sa.Column("account_url", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "acme_challenges",
        sa.Column("token", sa.String(255), primary_key=True),
        sa.Column("key_authorization", sa.Text, nullable=False),
        sa.Column(
            "issuer_id",
            sa.String(128),
            sa.ForeignKey("issuers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("acme_challenges")
    op.drop_table("acme_accounts")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("order_state")
