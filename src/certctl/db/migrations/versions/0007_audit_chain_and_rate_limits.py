"""Audit hash chain (body hash, latency, prev/row hash, chain head, insert guard) and the
shared rate-limit counters (C10, C11).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from certctl.db.types import UTCDateTime, json_type
from certctl.domain.access import ActorType
from certctl.domain.audit import AuditEvent, AuditStatus
from certctl.domain.audit_chain import GENESIS, link

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
# Clocks of replicas differ a little; a row may be this much older than the chain head.
_SKEW = "1 hour"

_SQLITE_CHAIN_GUARD = f"""
CREATE TRIGGER audit_events_chain_guard BEFORE INSERT ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: id or seq already used')
    WHERE EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id OR seq = NEW.seq)
       OR (NEW.seq > 0 AND NEW.seq <= (SELECT max(seq) FROM audit_events));
    SELECT RAISE(ABORT, 'audit_events is append-only: row does not extend the chain head')
    WHERE NEW.prev_hash IS NOT coalesce(
        (SELECT row_hash FROM audit_events ORDER BY seq DESC LIMIT 1), '{GENESIS}');
    SELECT RAISE(ABORT, 'audit_events is append-only: row is older than the chain head')
    WHERE julianday(NEW.occurred_at) < (
        SELECT julianday(occurred_at) FROM audit_events ORDER BY seq DESC LIMIT 1) - 1.0 / 24;
END
"""

_POSTGRES_CHAIN_GUARD = [
    f"""
    CREATE FUNCTION audit_events_chain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        head RECORD;
    BEGIN
        SELECT seq, row_hash, occurred_at INTO head
        FROM audit_events ORDER BY seq DESC LIMIT 1;
        IF NOT FOUND THEN
            IF NEW.prev_hash <> '{GENESIS}' THEN
                RAISE EXCEPTION 'audit_events is append-only: row does not extend the chain head'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END IF;
        IF NEW.seq <= head.seq THEN
            RAISE EXCEPTION 'audit_events is append-only: row % is not after the chain head', NEW.seq
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.prev_hash <> head.row_hash THEN
            RAISE EXCEPTION 'audit_events is append-only: row does not extend the chain head'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.occurred_at < head.occurred_at - interval '{_SKEW}' THEN
            RAISE EXCEPTION 'audit_events is append-only: row is older than the chain head'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_chain_guard BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_chain_guard()
    """,
]


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("body_sha256", sa.String(64), nullable=True))
    op.add_column("audit_events", sa.Column("latency_ms", sa.Float(), nullable=True))
    op.add_column(
        "audit_events", sa.Column("prev_hash", sa.String(64), nullable=False, server_default="")
    )
    op.add_column(
        "audit_events", sa.Column("row_hash", sa.String(64), nullable=False, server_default="")
    )
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    _chain_existing_rows()
    _install_chain_guard()
    _create_rate_limits()


def _chain_existing_rows() -> None:
    """Hash the rows written before the chain existed, oldest first, and record the head."""
    bind = op.get_bind()
    table = _audit_table()
    rows = bind.execute(sa.select(table).order_by(table.c.seq)).mappings().all()
    events = [_event(row) for row in rows]
    linked = link(events, GENESIS)
    if linked:
        _without_update_guard(lambda: _store_hashes(linked))
    head = sa.table(
        "audit_chain_head",
        sa.column("id", sa.Integer()),
        sa.column("last_seq", sa.BigInteger()),
        sa.column("last_hash", sa.String()),
    )
    op.execute(
        head.insert().values(
            id=1,
            last_seq=linked[-1].seq if linked else None,
            last_hash=linked[-1].row_hash if linked else GENESIS,
        )
    )


def _audit_table() -> sa.TableClause:
    return sa.table(
        "audit_events",
        sa.column("seq", sa.BigInteger()),
        sa.column("id", sa.String()),
        sa.column("occurred_at", UTCDateTime()),
        sa.column("actor", sa.String()),
        sa.column("actor_type", sa.String()),
        sa.column("action", sa.String()),
        sa.column("resource_type", sa.String()),
        sa.column("resource_id", sa.String()),
        sa.column("status", sa.String()),
        sa.column("details", json_type()),
        sa.column("request_id", sa.String()),
        sa.column("prev_hash", sa.String()),
        sa.column("row_hash", sa.String()),
    )


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        occurred_at=row["occurred_at"],
        actor=row["actor"],
        actor_type=ActorType(row["actor_type"]),
        action=row["action"],
        resource_type=row["resource_type"],
        resource_id=row["resource_id"],
        status=AuditStatus(row["status"]),
        details=row["details"] or {},
        request_id=row["request_id"],
        seq=row["seq"],
    )


def _store_hashes(events: list[AuditEvent]) -> None:
    table = _audit_table()
    for event in events:
        op.execute(
            table.update()
            .where(table.c.seq == event.seq)
            .values(prev_hash=event.prev_hash, row_hash=event.row_hash)
        )


def _without_update_guard(work: Any) -> None:
    """Run `work` with the append-only UPDATE guard lifted (this migration only)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete")
        work()
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete")
        return
    op.execute("DROP TRIGGER audit_events_no_update")
    work()
    op.execute(
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END"
    )


def _install_chain_guard() -> None:
    """Refuse inserts that do not extend the chain head, including SQLite's REPLACE."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRES_CHAIN_GUARD:
            op.execute(statement)
    else:
        op.execute(_SQLITE_CHAIN_GUARD)


def _create_rate_limits() -> None:
    """Fixed-window counters shared by every worker and replica (C10)."""
    # UNLOGGED on PostgreSQL: counters are not worth a WAL write and fsync per request; a
    # crash that empties the table only forgives the current window.
    prefixes = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("blocked_until", TS, nullable=True),
        prefixes=prefixes,
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_chain_guard ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_chain_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_chain_guard")
    op.drop_table("audit_chain_head")
    for column in ("row_hash", "prev_hash", "latency_ms", "body_sha256"):
        op.drop_column("audit_events", column)
