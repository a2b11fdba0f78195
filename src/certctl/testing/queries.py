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

    attached: dict[int, Any] = {}

    def log(query: Any) -> None:
        seen.append(query.query)

    def log_queries(_dbapi: object, record: Any, _proxy: object) -> None:
        driver = record.driver_connection
        if id(driver) not in attached:
            driver.add_query_logger(log)
            attached[id(driver)] = driver

    pool = db.engine.sync_engine.pool
    event.listen(pool, "checkout", log_queries)
    try:
        yield seen
    finally:
        event.remove(pool, "checkout", log_queries)
        # A pooled connection outlives the block: it must not keep logging into this list.
        for driver in attached.values():
            driver.remove_query_logger(log)


def transaction_control(queries: list[str]) -> list[str]:
    """The BEGIN and COMMIT statements among `queries`."""
    return [q for q in queries if q.rstrip(";") in TRANSACTION_CONTROL]
