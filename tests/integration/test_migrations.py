"""Alembic migrations: idempotent upgrade, full downgrade and re-upgrade on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Connection, insert, inspect

from certctl.db import migrate as migrations
from certctl.db.database import Database
from certctl.db.models import AuditEventRow
from certctl.services.audit import AuditService
from certctl.services.runtime import Runtime
from certctl.testing.clock import frozen_clock

TABLES = {
    "agent_groups",
    "agents",
    "api_keys",
    "audit_events",
    "certificate_profiles",
    "certificate_targets",
    "certificate_status_counts",
    "certificate_versions",
    "deployment_targets",
    "issuers",
    "managed_certificates",
    "owners",
    "renewal_policies",
    "teams",
    "alembic_version",
    "notification_channels",
    "notification_events",
    "issuer_ca",
    "certificate_revocations",
    "crl_state",
    "jobs",
    "acme_accounts",
    "acme_challenges",
    "dashboard_users",
    "dashboard_sessions",
    "audit_chain_head",
    "rate_limits",
    "certificate_renewal_info",
    "discovered_certificates",
    "discovery_scans",
    "discovered_endpoints",
    "target_drift",
    "alerts",
    "silences",
    "quiet_hours",
    "route_overrides",
}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _downgrade(connection: Connection) -> None:
    command.downgrade(migrations._config(connection), "base")


async def test_upgrade_twice_leaves_database_at_head(database_url: str) -> None:
    """Running the upgrade on a migrated database changes nothing and reports head."""
    db = Database(database_url)
    try:
        await db.upgrade()
        await db.upgrade()
        assert await db.is_current()
        assert await migrations.current_revision(db.engine) == migrations.head_revision()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == TABLES
    finally:
        await db.dispose()


async def test_downgrade_to_base_and_back(database_url: str) -> None:
    """Every migration can be undone and replayed, triggers included."""
    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_downgrade)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == {"alembic_version"}
        assert not await db.is_current()
        await db.upgrade()
        assert await db.is_current()
    finally:
        await db.dispose()


def _downgrade_to_0006(connection: Connection) -> None:
    command.downgrade(migrations._config(connection), "0006")


async def test_chain_migration_links_rows_written_before_it(database_url: str) -> None:
    """Audit rows that predate the hash chain are chained by its migration and verify."""
    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_downgrade_to_0006)
            for n in range(3):
                # Only the columns revision 0006 has: the chain columns do not exist yet.
                await conn.execute(
                    insert(AuditEventRow.__table__).values(
                        id=f"ae-old-{n}",
                        occurred_at=datetime(2026, 5, 1, 12, n, tzinfo=UTC),
                        actor="admin",
                        actor_type="User",
                        action="team_created",
                        resource_type="team",
                        resource_id=f"t-{n}",
                        status="success",
                        details={"name": "T", "n": n},
                    )
                )
        await db.upgrade()
        report = await AuditService(
            Runtime(db=db, clock=frozen_clock(), sealer=None)
        ).verify_chain()
        assert (report.intact, report.rows_checked) == (True, 3)
    finally:
        await db.dispose()
