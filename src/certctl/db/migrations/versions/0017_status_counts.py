"""Certificates per status, kept as deltas by triggers on managed_certificates.

A list filtered by status alone (or not filtered, Archived left out) reports an exact total.
Counting the matching rows costs a scan of them on every page (3,000 index entries for one
status at 100k certificates, the whole index unfiltered); summing a handful of delta rows does
not. Triggers append a row per change instead of updating one counter per status, so writers
of the same status never wait on each other; the scheduler folds the deltas into one row per
status every few seconds (the `status_counts` loop).

PostgreSQL counts an INSERT, a DELETE or a COPY once per statement through its transition
table; a status change is counted per row, and only when the status actually changes. SQLite
has row triggers only.

Revision ID: 0017_status_counts
Revises: 0016_scan
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_status_counts"
down_revision = "0016_scan"
branch_labels = None
depends_on = None

_POSTGRES = [
    """
    CREATE FUNCTION certificate_status_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO certificate_status_counts (status, delta)
        SELECT status, count(*) FROM inserted GROUP BY status;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION certificate_status_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO certificate_status_counts (status, delta)
        SELECT status, -count(*) FROM deleted GROUP BY status;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION certificate_status_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO certificate_status_counts (status, delta)
        VALUES (OLD.status, -1), (NEW.status, 1);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION certificate_status_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM certificate_status_counts;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER managed_certificates_count_inserted AFTER INSERT ON managed_certificates
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION certificate_status_counts_inserted()
    """,
    """
    CREATE TRIGGER managed_certificates_count_deleted AFTER DELETE ON managed_certificates
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION certificate_status_counts_deleted()
    """,
    """
    CREATE TRIGGER managed_certificates_count_changed AFTER UPDATE OF status
    ON managed_certificates FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION certificate_status_counts_changed()
    """,
    """
    CREATE TRIGGER managed_certificates_count_truncated AFTER TRUNCATE ON managed_certificates
    FOR EACH STATEMENT EXECUTE FUNCTION certificate_status_counts_truncated()
    """,
]

_SQLITE = [
    """
    CREATE TRIGGER managed_certificates_count_inserted AFTER INSERT ON managed_certificates
    BEGIN INSERT INTO certificate_status_counts (status, delta) VALUES (NEW.status, 1); END
    """,
    """
    CREATE TRIGGER managed_certificates_count_deleted AFTER DELETE ON managed_certificates
    BEGIN INSERT INTO certificate_status_counts (status, delta) VALUES (OLD.status, -1); END
    """,
    """
    CREATE TRIGGER managed_certificates_count_changed AFTER UPDATE OF status
    ON managed_certificates WHEN OLD.status IS NOT NEW.status
    BEGIN
        INSERT INTO certificate_status_counts (status, delta)
        VALUES (OLD.status, -1), (NEW.status, 1);
    END
    """,
]

_TRIGGERS = ("inserted", "deleted", "changed", "truncated")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "certificate_status_counts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
    )
    # The certificates already there, then every change from here on.
    op.execute(
        "INSERT INTO certificate_status_counts (status, delta) "
        "SELECT status, count(*) FROM managed_certificates GROUP BY status"
    )
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in _TRIGGERS if postgres else _TRIGGERS[:3]:
        op.execute(
            f"DROP TRIGGER managed_certificates_count_{name}"
            + (" ON managed_certificates" if postgres else "")
        )
        if postgres:
            op.execute(f"DROP FUNCTION certificate_status_counts_{name}()")
    op.drop_table("certificate_status_counts")
