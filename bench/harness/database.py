"""The throwaway PostgreSQL cluster, fresh migrated databases and seeding through COPY.

Seeding writes straight into the tables the application's own Alembic chain created: binary
COPY on PostgreSQL (then VACUUM ANALYZE or ANALYZE, the state autovacuum converges to), one
executemany transaction on SQLite with foreign keys on. `Table` is (name, columns, rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Table = tuple[str, Sequence[str], Iterable[tuple[Any, ...]]]


def postmaster_pid(datadir: Path) -> int | None:
    """The PostgreSQL server's pid from its data directory."""
    with contextlib.suppress(OSError, ValueError):
        return int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
    return None


class Cluster:
    """A throwaway PostgreSQL cluster for one run (fsync off unless `durable`), stopped when
    `stack` closes.

    `pid` is the postmaster's, the root of the tree whose CPU the tables call `db`.
    """

    def __init__(self, stack: contextlib.ExitStack, *, durable: bool = False) -> None:
        from certctl.testing.postgres import ThrowawayCluster

        self.durable = durable
        self.cluster = ThrowawayCluster(durable=durable)
        stack.callback(self.cluster.stop)
        self.cluster.start()
        self.pid = postmaster_pid(self.cluster.datadir)
        self.version = ""

    async def create_database(self, name: str) -> str:
        """CREATE DATABASE `name`; its URL (and the server version, kept in `version`)."""
        import asyncpg

        admin = await asyncpg.connect(self.cluster.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            self.version = str(await admin.fetchval("SHOW server_version"))
        finally:
            await admin.close()
        return str(self.cluster.url(name))


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def migrate(url: str) -> None:
    """Create the schema with the application's own Alembic chain."""
    from certctl.bootstrap import migrate as app_migrate
    from certctl.settings import Settings

    await app_migrate(Settings(database_url=url))


def sqlite_value(value: Any) -> Any:
    """What SQLAlchemy stores on SQLite: naive UTC text with microseconds, booleans as 0/1."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]
    if isinstance(value, bool):
        return int(value)
    return value


async def copy_tables(
    url: str, tables: Sequence[Table], *, after: str = "VACUUM ANALYZE", synchronous: bool = True
) -> float:
    """Binary COPY of every table in order, then `after` ("" for nothing); its seconds.

    `synchronous` commits the load with synchronous_commit=on: the throwaway cluster runs
    with it off, and hint bits (so all-visible pages, which index-only scans need) cannot be
    set on rows whose commit record is not flushed yet, so VACUUM would leave them unmarked.
    """
    import asyncpg

    settings = {"synchronous_commit": "on"} if synchronous else None
    conn = await asyncpg.connect(url.replace("+asyncpg", ""), server_settings=settings)
    try:
        for table, columns, rows in tables:
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        if not after:
            return 0.0
        started = time.perf_counter()
        await conn.execute(after)
        return time.perf_counter() - started
    finally:
        await conn.close()


def insert_sqlite(path: Path, tables: Sequence[Table]) -> None:
    """sqlite3 executemany in one transaction, foreign keys on; no ANALYZE (the app runs none)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        with conn:
            for table, columns, rows in tables:
                marks = ", ".join("?" * len(columns))
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    (tuple(sqlite_value(v) for v in row) for row in rows),
                )
    finally:
        conn.close()


async def seed(url: str, tables: Sequence[Table], *, after: str = "VACUUM ANALYZE") -> float:
    """COPY (PostgreSQL) or executemany (SQLite) by the URL; the seconds `after` took."""
    if url.startswith("sqlite"):
        await asyncio.to_thread(insert_sqlite, Path(url.split(":///", 1)[1]), tables)
        return 0.0
    return await copy_tables(url, tables, after=after)


async def scalar(url: str, query: str) -> Any:
    """The first column of the first row of `query`, on either database."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split(":///", 1)[1])
        try:
            return conn.execute(query).fetchone()[0]
        finally:
            conn.close()
    import asyncpg

    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()
