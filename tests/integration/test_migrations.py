"""Alembic migrations: idempotent upgrade, full downgrade and re-upgrade on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, inspect

from certctl.db import migrate as migrations
from certctl.db.database import Database

TABLES = {
    "agent_groups",
    "agents",
    "api_keys",
    "audit_events",
    "certificate_profiles",
    "certificate_targets",
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
