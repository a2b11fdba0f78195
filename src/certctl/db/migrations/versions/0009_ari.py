"""ACME Renewal Information (RFC 9773): the CA's suggested window per certificate (C5).

Revision ID: 0009_ari
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_ari"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "certificate_renewal_info",
        sa.Column(
            "certificate_id",
            sa.String(128),
            sa.ForeignKey("managed_certificates.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("ari_cert_id", sa.String(255), nullable=False),
        sa.Column("checked_at", TS, nullable=False),
        # The renewal scan asks the CA again only once this has passed (Retry-After).
        sa.Column("next_check_at", TS, nullable=False, index=True),
        sa.Column("window_start", TS, nullable=True),
        sa.Column("window_end", TS, nullable=True),
        sa.Column("explanation_url", sa.Text, nullable=True),
        sa.Column("renew_at", TS, nullable=True, index=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("certificate_renewal_info")
