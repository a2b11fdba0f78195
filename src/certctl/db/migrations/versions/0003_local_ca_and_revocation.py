"""Local CA material, revocation records and CRL state (C5, C6).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "issuer_ca",
        sa.Column(
            "issuer_id",
            sa.String(128),
            sa.ForeignKey("issuers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("ca_chain_pem", sa.Text(), nullable=False),
        # The CA key, PKCS#8 PEM sealed with the configuration encryption key (AES-GCM).
        sa.Column("sealed_key", sa.Text(), nullable=False),
        sa.Column("responder_cert_pem", sa.Text(), nullable=True),
        sa.Column("responder_sealed_key", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "certificate_revocations",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column(
            "certificate_id",
            sa.String(128),
            sa.ForeignKey("managed_certificates.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("issuer_id", sa.String(128), nullable=True),
        sa.Column("serial_number", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("revoked_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", TS, nullable=False),
        sa.Column("issuer_notified", sa.Boolean(), nullable=False),
        sa.UniqueConstraint(
            "issuer_id", "serial_number", name="uq_certificate_revocations_issuer_serial"
        ),
    )
    op.create_index(
        "ix_certificate_revocations_certificate_id", "certificate_revocations", ["certificate_id"]
    )
    op.create_table(
        "crl_state",
        sa.Column(
            "issuer_id",
            sa.String(128),
            sa.ForeignKey("issuers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("crl_number", sa.BigInteger(), nullable=False),
        sa.Column("der", sa.Text(), nullable=True),
        sa.Column("this_update", TS, nullable=True),
        sa.Column("next_update", TS, nullable=True),
        sa.Column("etag", sa.String(80), nullable=True),
    )
    op.create_index(
        "ix_certificate_versions_serial_number", "certificate_versions", ["serial_number"]
    )


def downgrade() -> None:
    op.drop_index("ix_certificate_versions_serial_number", table_name="certificate_versions")
    op.drop_table("crl_state")
    op.drop_index("ix_certificate_revocations_certificate_id", table_name="certificate_revocations")
    op.drop_table("certificate_revocations")
    op.drop_table("issuer_ca")
