"""Async engine construction for SQLite (WAL, foreign keys) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,  # asyncpg's connect raises ConnectionRefusedError as is
)
"""Errors of a database that is down, restarting or dropped the connection: worth a retry."""


def normalise_url(url: str) -> str:
    """Map `postgresql://` and `sqlite://` URLs onto their async drivers."""
    parsed = make_url(url)
    driver = {
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
        "postgresql+psycopg2": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }.get(parsed.drivername, parsed.drivername)
    query = dict(parsed.query)
    if driver == "postgresql+asyncpg" and "sslmode" in query:
        # libpq spells it sslmode; asyncpg accepts the same values as `ssl`.
        query["ssl"] = query.pop("sslmode")
    return parsed.set(drivername=driver, query=query).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    """Tell whether the URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# A connection checked in this recently and not seen closed by its driver is handed out
# without a probe: the probe costs a round trip on every unit of work, and what it guards
# against (a connection a server restart, a failover or a middlebox dropped while it sat idle)
# shows up either as a closed socket, which the driver notices at once, or only after minutes
# of silence.
FRESH_SECONDS = 10.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in_at"] = time.monotonic()


def _probe_on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Prove a pooled PostgreSQL connection alive with one trivial statement, unless it was
    in use moments ago and its socket is still open.

    SQLAlchemy's pre-ping wraps its probe in BEGIN and ROLLBACK, three round trips before
    every unit of work; one is enough outside pgbouncer's transaction mode, and none for a
    connection returned to the pool less than FRESH_SECONDS ago. A failure makes the pool
    drop the connection and check out (or open) another.
    """
    checked_in = record.info.get("checked_in_at")
    driver = record.driver_connection
    if (
        checked_in is not None
        and time.monotonic() - checked_in < FRESH_SECONDS
        and driver is not None
        and not driver.is_closed()
    ):
        return
    try:
        dbapi_connection.run_async(lambda conn: conn.execute("SELECT 1"))
    except Exception as exc:
        raise DisconnectionError(f"pooled connection is gone: {type(exc).__name__}") from exc


def private_sqlite_file(url: str) -> None:
    """Create the SQLite file owner-only (0600), or tighten one that is readable by others.

    The database holds sealed secrets, API key hashes and the audit trail; SQLite creates its
    -wal and -shm files with the database file's mode, so they follow.
    """
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return  # SQLite reports the missing directory when it first connects
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(descriptor).st_mode & 0o077:
            os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Build the async engine for `url`, with per-backend connection settings.

    `hide_parameters` keeps bound values (secrets, e-mail addresses) out of SQL logs at debug
    level and out of the text of database errors.

    On PostgreSQL the pool opens connections as they are needed, up to twice `pool_size`, and
    keeps every one it opened. (A pool of `pool_size` with as many overflow connections closes
    an overflow connection whenever it comes back to a full pool: with more than `pool_size`
    requests in flight, that was a new PostgreSQL session every few requests, 43 a second
    under list load, each a backend start and the driver's set-up.) The most recently returned
    connection is handed out first, so a lightly loaded server reuses the one that needs no
    probe (`FRESH_SECONDS`).
    """
    url = normalise_url(url)
    if is_sqlite(url):
        private_sqlite_file(url)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        url, pool_size=2 * pool_size, max_overflow=0, pool_use_lifo=True, hide_parameters=True
    )
    event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
    event.listen(engine.sync_engine.pool, "checkout", _probe_on_checkout)
    return engine
