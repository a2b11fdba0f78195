"""Discovery and drift: discovered certificates, network scans and endpoints, open drifts (C8).

Revision ID: 0010_discovery
Revises: 0009_ari
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_discovery"
down_revision = "0009_ari"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(128), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "discovered_certificates",
        _id(),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reporter", sa.String(128), nullable=False),
        sa.Column("location", sa.String(1024), nullable=False),
        sa.Column("index_in_file", sa.Integer, nullable=False),
        sa.Column("fingerprint_sha256", sa.String(64), nullable=False),
        sa.Column("common_name", sa.String(255), nullable=False),
        sa.Column("sans", JSON, nullable=False),
        sa.Column("subject_dn", sa.Text, nullable=False),
        sa.Column("issuer_dn", sa.Text, nullable=False),
        sa.Column("serial_number", sa.String(64), nullable=False),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("not_after", TS, nullable=False),
        sa.Column("key_algorithm", sa.String(32), nullable=False),
        sa.Column("key_size", sa.Integer, nullable=False),
        sa.Column("is_ca", sa.Boolean, nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("pem", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scan_id", sa.String(128), nullable=True),
        sa.Column(
            "managed_certificate_id",
            sa.String(128),
            sa.ForeignKey("managed_certificates.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("dismissed_reason", sa.Text, nullable=True),
        sa.Column("triaged_by", sa.String(200), nullable=True),
        sa.Column("triaged_at", TS, nullable=True),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        # Re-reports of the same certificate at the same place by the same reporter update
        # last_seen_at instead of adding rows.
        sa.UniqueConstraint(
            "fingerprint_sha256", "reporter", "location", name="uq_discovered_certificates_key"
        ),
    )
    op.create_index(
        "ix_discovered_certificates_status", "discovered_certificates", ["status", "not_after"]
    )
    op.create_table(
        "discovery_scans",
        _id(),
        sa.Column("cidrs", JSON, nullable=False),
        sa.Column("ports", JSON, nullable=False),
        sa.Column("server_name", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("addresses", sa.Integer, nullable=False),
        sa.Column("probed", sa.Integer, nullable=False),
        sa.Column("endpoints_found", sa.Integer, nullable=False),
        sa.Column("certificates_found", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
    )
    op.create_table(
        "discovered_endpoints",
        _id(),
        sa.Column(
            "scan_id",
            sa.String(128),
            sa.ForeignKey("discovery_scans.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("server_name", sa.String(255), nullable=True),
        sa.Column("chain_pem", sa.Text, nullable=False),
        sa.Column("leaf_fingerprint_sha256", sa.String(64), nullable=False),
        sa.Column(
            "discovery_id",
            sa.String(128),
            sa.ForeignKey("discovered_certificates.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("discovered_at", TS, nullable=False),
    )
    op.create_index("ix_discovered_endpoints_scan_id", "discovered_endpoints", ["scan_id"])
    op.create_table(
        "target_drift",
        sa.Column(
            "certificate_id",
            sa.String(128),
            sa.ForeignKey("managed_certificates.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "target_id",
            sa.String(128),
            sa.ForeignKey("deployment_targets.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("endpoint", sa.String(300), nullable=False),
        sa.Column("server_name", sa.String(255), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("served_fingerprint", sa.String(64), nullable=False),
        sa.Column("expected_fingerprint", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(128), nullable=True),
        sa.Column("detected_at", TS, nullable=False),
        sa.Column("last_checked_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("target_drift")
    op.drop_index("ix_discovered_endpoints_scan_id", table_name="discovered_endpoints")
    op.drop_table("discovered_endpoints")
    op.drop_table("discovery_scans")
    op.drop_index("ix_discovered_certificates_status", table_name="discovered_certificates")
    op.drop_table("discovered_certificates")
