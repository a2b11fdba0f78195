"""Pooled PostgreSQL connections are probed in one statement when they may have gone stale;
reads run outside transactions."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest
from sqlalchemy import text

from certctl.db.database import Database
from certctl.db.engine import FRESH_SECONDS
from certctl.testing.postgres import ThrowawayCluster

# Both are PostgreSQL behaviours: SQLite has no pool probe and no server transactions.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

TRANSACTION_ID = text("SELECT txid_current()")


async def test_only_a_connection_idle_beyond_the_fresh_window_is_probed(
    database_url: str,
) -> None:
    """A connection back in the pool moments ago is handed out as is; one idle longer than
    FRESH_SECONDS is first probed with one `SELECT 1`."""
    db = Database(database_url, pool_size=1)
    seen: list[str] = []
    try:
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            raw.driver_connection.add_query_logger(lambda record: seen.append(record.query))
            record = raw._connection_record
            assert record is not None
        async with db.engine.connect() as conn:
            await conn.scalar(text("SELECT 2"))
        fresh = list(seen)
        record.info["checked_in_at"] -= FRESH_SECONDS + 1
        async with db.engine.connect() as conn:
            await conn.scalar(text("SELECT 3"))
    finally:
        await db.dispose()
    # The logger sees the simple-protocol statements (the probe, BEGIN, ROLLBACK).
    assert fresh == ["BEGIN;", "ROLLBACK;"]
    assert seen[len(fresh) :] == ["SELECT 1", "BEGIN;", "ROLLBACK;"]


async def _terminate(pg_cluster: ThrowawayCluster, pid: int) -> None:
    """Terminate a backend and wait (up to 5 s) until its process has exited."""
    admin = await asyncpg.connect(pg_cluster.admin_url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid) is True
    finally:
        await admin.close()


async def _backend_of_a_read(db: Database) -> int:
    """Run a read through db.read() and answer the backend that served it."""
    async with db.read() as reads:
        assert await reads.certificates.get("mc-none") is None
        pid = await reads.certificates.conn.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


async def test_fresh_connection_the_driver_saw_closed_is_replaced_at_checkout(
    database_url: str, pg_cluster: ThrowawayCluster
) -> None:
    """A connection returned moments ago whose backend the server then terminated is probed,
    dropped and replaced once its driver has seen the socket close; the read succeeds."""
    db = Database(database_url, pool_size=1)
    closed = asyncio.Event()
    try:
        async with db.engine.connect() as conn:
            first = await conn.scalar(text("SELECT pg_backend_pid()"))
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            raw.driver_connection.add_termination_listener(lambda _conn: closed.set())
        await _terminate(pg_cluster, first)
        await asyncio.wait_for(closed.wait(), timeout=5)
        second = await _backend_of_a_read(db)
    finally:
        await db.dispose()
    assert second != first


async def test_idle_connection_whose_backend_was_terminated_is_replaced_at_checkout(
    database_url: str, pg_cluster: ThrowawayCluster
) -> None:
    """A connection idle beyond FRESH_SECONDS is probed whatever its driver has seen so far;
    a terminated backend fails the probe and the read runs on a new connection."""
    db = Database(database_url, pool_size=1)
    try:
        async with db.engine.connect() as conn:
            first = await conn.scalar(text("SELECT pg_backend_pid()"))
            raw = await conn.get_raw_connection()
            record = raw._connection_record
            assert record is not None
        record.info["checked_in_at"] -= FRESH_SECONDS + 1
        await _terminate(pg_cluster, first)
        second = await _backend_of_a_read(db)
    finally:
        await db.dispose()
    assert second != first


async def test_reads_run_each_statement_in_its_own_transaction(database_url: str) -> None:
    """db.read() is autocommit: a later statement does not share the first one's transaction."""
    db = Database(database_url)
    try:
        async with db.read() as reads:
            assert await reads.certificates.get("mc-none") is None
            first = await reads.certificates.conn.scalar(TRANSACTION_ID)
            second = await reads.certificates.conn.scalar(TRANSACTION_ID)
        async with db.engine.connect() as conn:  # the default: one transaction until commit
            same = [await conn.scalar(TRANSACTION_ID), await conn.scalar(TRANSACTION_ID)]
    finally:
        await db.dispose()
    assert second > first
    assert same[0] == same[1]


async def test_connections_opened_for_a_burst_are_kept_for_the_next(database_url: str) -> None:
    """A burst of twice pool_size connections at once opens that many sessions; all go back
    to the pool and serve the next burst, none closed and reopened; the pool stops there."""
    db = Database(database_url, pool_size=2)

    async def burst() -> set[int]:
        async with contextlib.AsyncExitStack() as stack:
            conns = [await stack.enter_async_context(db.engine.connect()) for _ in range(4)]
            return {await conn.scalar(text("SELECT pg_backend_pid()")) for conn in conns}

    try:
        first = await burst()
        second = await burst()
        limit = db.engine.pool.size()  # type: ignore[attr-defined]
    finally:
        await db.dispose()
    assert len(first) == 4
    assert second == first
    assert limit == 4
