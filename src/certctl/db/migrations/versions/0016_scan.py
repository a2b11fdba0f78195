"""The audit chain guard reads the chain head through the primary key whatever the statistics.

The PostgreSQL guard (revision 0007) runs `… ORDER BY seq DESC LIMIT 1` before every insert.
PL/pgSQL plans that query once per connection; planned against an empty, freshly vacuumed
audit_events it becomes a sequential scan with a sort, kept for the connection's life, so a
batch of n audit rows costs O(n²) (36,000 rows of one expiry scan: about a minute of database
CPU). Without sequential or bitmap scans the only plan left is the backward scan of the primary
key, one index probe per row at any table size.

Revision ID: 0016_scan
Revises: 0014_escalation
"""

from __future__ import annotations

from alembic import op

revision = "0016_scan"
down_revision = "0015_crl_entries"
branch_labels = None
depends_on = None

_FUNCTION = "audit_events_chain_guard()"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's guard reads the head through the rowid (INTEGER PRIMARY KEY) already
    op.execute(f"ALTER FUNCTION {_FUNCTION} SET enable_seqscan = off")
    op.execute(f"ALTER FUNCTION {_FUNCTION} SET enable_bitmapscan = off")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER FUNCTION {_FUNCTION} RESET enable_bitmapscan")
    op.execute(f"ALTER FUNCTION {_FUNCTION} RESET enable_seqscan")
