"""The statements PostgreSQL connections send while a block runs, as asyncpg logs them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from certctl.db.database import Database

TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT"})


@contextmanager
def driver_queries(db: Database) -> Iterator[list[str]]:
    """Every statement asyncpg logs (the simple-protocol ones: BEGIN, COMMIT, the pool probe)
    on connections checked out while the block runs; always empty on SQLite."""
    seen: list[str] = []
    if db.backend != "postgresql":
        yield seen
        return

    def log_queries(_dbapi: object, record: Any, _proxy: object) -> None:
        if not record.info.get("logged"):
            record.driver_connection.add_query_logger(lambda q: seen.append(q.query))
            record.info["logged"] = True

    pool = db.engine.sync_engine.pool
    event.listen(pool, "checkout", log_queries)
    try:
        yield seen
    finally:
        event.remove(pool, "checkout", log_queries)


def transaction_control(queries: list[str]) -> list[str]:
    """The BEGIN and COMMIT statements among `queries`."""
    return [q for q in queries if q.rstrip(";") in TRANSACTION_CONTROL]
