"""Certificates per status as delta rows: triggers keep them, the scheduler folds them, list
totals and the dashboard's counts add them up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
from alembic import command
from sqlalchemy import Connection, Table, delete, func, insert, select, text, update

from certctl.bootstrap import AppContext
from certctl.db import migrate as migrations
from certctl.db.database import Database
from certctl.db.models import CertificateStatusCountRow, ManagedCertificateRow

CERTS = cast(Table, ManagedCertificateRow.__table__)
COUNTS = cast(Table, CertificateStatusCountRow.__table__)
WHEN = datetime(2026, 6, 1, tzinfo=UTC)


def _row(n: int, status: str, environment: str = "prod") -> dict[str, Any]:
    return {
        "id": f"mc-{n}",
        "name": f"cert-{n}",
        "common_name": f"c{n}.example.com",
        "sans": [],
        "environment": environment,
        "status": status,
        "expires_at": WHEN,
        "tags": {},
        "source": "manual",
        "created_at": WHEN,
        "updated_at": WHEN,
    }


async def _counted(db: Database) -> dict[str, int]:
    """The counts the delta rows give."""
    async with db.uow() as uow:
        return await uow.certificates.count_by_status()


async def _counted_rows(db: Database) -> dict[str, int]:
    """The counts a scan of the certificates gives."""
    stmt = select(CERTS.c.status, func.count()).group_by(CERTS.c.status)
    async with db.engine.connect() as conn:
        return {status: int(n) for status, n in (await conn.execute(stmt)).all()}


async def _delta_rows(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(COUNTS)) or 0)


async def test_every_kind_of_write_keeps_the_sums_equal_to_the_counts(ctx: AppContext) -> None:
    """Inserts one and many at a time, status changes, same-status and other-column updates
    and deletes: the sums per status equal the certificates per status after each."""
    db = ctx.runtime.db
    async with db.engine.begin() as conn:
        await conn.execute(insert(CERTS), [_row(n, "Active") for n in range(5)])
        await conn.execute(insert(CERTS).values(_row(5, "Expiring")))
    assert await _counted(db) == await _counted_rows(db) == {"Active": 5, "Expiring": 1}
    async with db.engine.begin() as conn:
        await conn.execute(
            update(CERTS).where(CERTS.c.id.in_(["mc-0", "mc-1"])).values(status="Expiring")
        )
        await conn.execute(update(CERTS).where(CERTS.c.id == "mc-2").values(status="Expired"))
    assert (
        await _counted(db) == await _counted_rows(db) == {"Active": 2, "Expiring": 3, "Expired": 1}
    )
    async with db.engine.begin() as conn:
        await conn.execute(delete(CERTS).where(CERTS.c.id.in_(["mc-2", "mc-3"])))
    assert await _counted(db) == await _counted_rows(db) == {"Active": 1, "Expiring": 3}
    async with db.engine.begin() as conn:
        await conn.execute(delete(CERTS).where(CERTS.c.status == "Active"))
    # A status with no certificate left is left out, as a count of rows leaves it out.
    assert await _counted(db) == await _counted_rows(db) == {"Expiring": 3}


async def test_an_update_that_keeps_the_status_adds_no_delta(ctx: AppContext) -> None:
    """Only an actual status change is counted: rewriting the same status or another column
    appends nothing."""
    db = ctx.runtime.db
    async with db.engine.begin() as conn:
        await conn.execute(insert(CERTS).values(_row(1, "Active")))
    before = await _delta_rows(db)
    async with db.engine.begin() as conn:
        await conn.execute(update(CERTS).values(status="Active", environment="staging"))
    assert await _delta_rows(db) == before


async def test_folding_leaves_one_row_per_status_with_the_same_sums(ctx: AppContext) -> None:
    """The fold replaces the delta rows by one per status with a non-zero sum, reports the
    rows it folded away and has nothing to do a second time."""
    db = ctx.runtime.db
    async with db.engine.begin() as conn:
        for n in range(4):  # one statement each: a delta row each on both databases
            await conn.execute(insert(CERTS).values(_row(n, "Active")))
        await conn.execute(update(CERTS).where(CERTS.c.id == "mc-0").values(status="Expired"))
        await conn.execute(update(CERTS).where(CERTS.c.id == "mc-0").values(status="Active"))
    rows = await _delta_rows(db)
    assert rows == 8  # 4 inserts, then 2 for each of the 2 changes
    assert await ctx.stats.fold_status_counts() == rows - 1  # Expired sums to 0: dropped
    assert await _delta_rows(db) == 1
    assert await _counted(db) == await _counted_rows(db) == {"Active": 4}
    assert await ctx.stats.fold_status_counts() == 0


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_delta_committed_after_a_fold_began_is_kept(ctx: AppContext) -> None:
    """A certificate inserted by a transaction still open while the fold runs keeps its delta
    row: the fold takes only the rows it sees."""
    db = ctx.runtime.db
    async with db.engine.begin() as conn:
        for n in range(3):
            await conn.execute(insert(CERTS).values(_row(n, "Active")))
    async with db.engine.connect() as open_tx:
        await open_tx.execute(insert(CERTS).values(_row(3, "Active")))
        assert await ctx.stats.fold_status_counts() == 2
        await open_tx.commit()
    assert await _counted(db) == await _counted_rows(db) == {"Active": 4}
    assert await _delta_rows(db) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_copy_and_truncate_are_counted(ctx: AppContext) -> None:
    """COPY into the table is counted once per statement; TRUNCATE empties the counts."""
    db = ctx.runtime.db
    rows = [
        {**_row(n, status), "sans": "[]", "tags": "{}"}  # JSONB goes through COPY as text
        for n, status in enumerate(["Active", "Active", "Active", "Pending"])
    ]
    async with db.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.copy_records_to_table(
            "managed_certificates",
            records=[tuple(row.values()) for row in rows],
            columns=list(rows[0]),
        )
        await conn.commit()
    assert await _delta_rows(db) == 2
    assert await _counted(db) == {"Active": 3, "Pending": 1}
    async with db.engine.begin() as conn:
        await conn.execute(text("TRUNCATE managed_certificates CASCADE"))
    assert await _counted(db) == {}
    assert await _delta_rows(db) == 0


def _downgrade_to_0016(connection: Connection) -> None:
    command.downgrade(migrations._config(connection), "0016_scan")


async def test_the_migration_counts_the_certificates_already_there(database_url: str) -> None:
    """Upgrading a database that holds certificates starts the counts from them."""
    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_downgrade_to_0016)
            await conn.execute(
                insert(CERTS), [_row(n, "Active" if n % 3 else "Expired") for n in range(7)]
            )
        await db.upgrade()
        assert await _counted(db) == {"Active": 4, "Expired": 3}
        assert await _delta_rows(db) == 2
    finally:
        await db.dispose()


async def test_a_list_narrowed_by_status_alone_totals_the_deltas(
    ctx: AppContext, api: httpx.AsyncClient
) -> None:
    """The total of a status-only (or unfiltered) list is the sum of the delta rows; a list
    narrowed by anything else counts its rows. Shown by a delta row no certificate backs."""
    db = ctx.runtime.db
    async with db.engine.begin() as conn:
        await conn.execute(insert(CERTS), [_row(n, "Active") for n in range(3)])
        await conn.execute(insert(CERTS).values(_row(3, "Expiring", environment="dev")))
        await conn.execute(insert(CERTS).values(_row(4, "Archived")))
        await conn.execute(insert(COUNTS).values(status="Expiring", delta=10))

    async def total(query: str) -> Any:
        response = await api.get(f"/api/v1/certificates?{query}")
        assert response.status_code == 200
        return response.json()["total"], len(response.json()["data"])

    assert await total("status=Expiring") == (11, 1)
    assert await total("status=Active,Expiring") == (14, 4)
    assert await total("") == (14, 4)  # Archived left out
    assert await total("include_archived=true") == (15, 5)
    assert await total("status=Expiring&environment=dev") == (1, 1)
    assert await total("status=Expiring&q=cert") == (1, 1)


async def test_the_fold_runs_as_a_scheduler_loop(ctx: AppContext, api: httpx.AsyncClient) -> None:
    """POST /admin/loops/status_counts/run folds now and answers how many rows it folded."""
    async with ctx.runtime.db.engine.begin() as conn:
        for n in range(3):
            await conn.execute(insert(CERTS).values(_row(n, "Active")))
    response = await api.post("/api/v1/admin/loops/status_counts/run")
    assert response.status_code == 200
    assert response.json() == {"rows_folded": 2}
    assert await _delta_rows(ctx.runtime.db) == 1
