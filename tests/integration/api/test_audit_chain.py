"""The audit hash chain on both databases: links, body hash, latency, the database's insert
guard, and verification (API, loop, metric) naming the first tampered row (C11)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from certctl.bootstrap import AppContext
from certctl.db.models import AuditEventRow
from certctl.db.repositories.audit import row_columns
from certctl.domain.access import SYSTEM_CALLER, ActorType
from certctl.domain.audit import AuditEvent
from certctl.domain.audit_chain import GENESIS, link
from certctl.scheduler.loops import audit_verify
from certctl.services.audit import record

Client = Callable[[str | None], httpx.AsyncClient]
_SQLITE_GUARDS = ("audit_events_no_update", "audit_events_no_delete", "audit_events_chain_guard")


async def _sql(ctx: AppContext, *statements: str, **params: Any) -> None:
    async with ctx.runtime.db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), params)


async def _drop_guards(ctx: AppContext) -> None:
    """What an attacker with database access does first."""
    if ctx.runtime.db.backend == "postgresql":
        await _sql(ctx, "ALTER TABLE audit_events DISABLE TRIGGER USER")
    else:
        await _sql(ctx, *(f"DROP TRIGGER {name}" for name in _SQLITE_GUARDS))


@pytest.fixture(autouse=True)
async def _restore_guards(ctx: AppContext) -> AsyncIterator[None]:
    """PostgreSQL test databases are reused: give the next test its triggers back."""
    yield
    if ctx.runtime.db.backend == "postgresql":
        await _sql(ctx, "ALTER TABLE audit_events ENABLE TRIGGER USER")


async def _rows(ctx: AppContext) -> list[dict[str, Any]]:
    async with ctx.runtime.db.engine.connect() as conn:
        result = await conn.execute(text("SELECT * FROM audit_events ORDER BY seq"))
        return [dict(r) for r in result.mappings()]


async def _three_teams(api: httpx.AsyncClient) -> None:
    for name in ("A", "B", "C"):
        assert (await api.post("/api/v1/teams", json={"name": name})).status_code == 201


async def _verify(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.get("/api/v1/audit/verify")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


async def test_rows_are_linked_and_the_head_recorded(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Each row names its predecessor's hash, the first GENESIS, and the head the newest."""
    await _three_teams(api)
    rows = await _rows(ctx)
    assert len(rows) == 3
    assert rows[0]["prev_hash"] == GENESIS
    assert [r["prev_hash"] for r in rows[1:]] == [r["row_hash"] for r in rows[:-1]]
    async with ctx.runtime.db.uow() as uow:
        assert await uow.audit.chain_head() == (
            rows[-1]["seq"],
            rows[-1]["row_hash"],
            rows[-1]["seq"],
        )


async def test_write_row_carries_body_hash_and_latency(api: httpx.AsyncClient) -> None:
    """A write's audit row stores the SHA-256 of the exact body sent and a latency."""
    body = json.dumps({"name": "Platform"}).encode()
    response = await api.post(
        "/api/v1/teams", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    row = (await api.get("/api/v1/audit?action=team_created")).json()["data"][0]
    assert row["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert isinstance(row["latency_ms"], float)
    assert 0 <= row["latency_ms"] < 10_000


async def test_intact_chain_verifies_over_the_api(api: httpx.AsyncClient) -> None:
    """Verification of an untouched trail is intact and counts every row."""
    await _three_teams(api)
    found = await _verify(api)
    assert (found["intact"], found["rows_checked"], found["first_break"]) == (True, 3, None)


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("auditor", 200), ("operator", 403), ("viewer", 403)]
)
async def test_verification_is_for_admins_and_auditors(
    make_client: Client, role: str, status: int
) -> None:
    """Only admin and auditor keys may run the (full-scan) verification."""
    assert (await make_client(role).get("/api/v1/audit/verify")).status_code == status


async def test_edited_row_is_named(api: httpx.AsyncClient, ctx: AppContext) -> None:
    """An UPDATE made after dropping the triggers is reported at the edited row."""
    await _three_teams(api)
    rows = await _rows(ctx)
    await _drop_guards(ctx)
    await _sql(ctx, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :s", s=rows[1]["seq"])
    brk = (await _verify(api))["first_break"]
    assert (brk["kind"], brk["seq"], brk["event_id"]) == (
        "content_changed",
        rows[1]["seq"],
        rows[1]["id"],
    )


async def test_deleted_row_is_named_at_its_successor(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """A DELETE in the middle is reported at the row that followed the deleted one."""
    await _three_teams(api)
    rows = await _rows(ctx)
    await _drop_guards(ctx)
    await _sql(ctx, "DELETE FROM audit_events WHERE seq = :s", s=rows[1]["seq"])
    found = await _verify(api)
    assert (found["first_break"]["kind"], found["first_break"]["seq"]) == (
        "link_broken",
        rows[2]["seq"],
    )
    assert found["rows_checked"] == 2


async def test_deleted_newest_row_is_a_head_mismatch(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Dropping the newest row is caught against the recorded chain head."""
    await _three_teams(api)
    rows = await _rows(ctx)
    await _drop_guards(ctx)
    await _sql(ctx, "DELETE FROM audit_events WHERE seq = :s", s=rows[2]["seq"])
    brk = (await _verify(api))["first_break"]
    assert (brk["kind"], brk["seq"]) == ("head_mismatch", rows[2]["seq"])


async def test_replaced_row_is_named(api: httpx.AsyncClient, ctx: AppContext) -> None:
    """A row deleted and re-inserted under its seq with other content is reported there."""
    await _three_teams(api)
    rows = await _rows(ctx)
    await _drop_guards(ctx)
    await _sql(ctx, "DELETE FROM audit_events WHERE seq = :s", s=rows[1]["seq"])
    forged = dataclasses.replace(
        _forged(ctx, rows[0]["row_hash"]), row_hash=rows[1]["row_hash"], id=rows[1]["id"]
    )
    await _insert(ctx, forged, seq=rows[1]["seq"])
    brk = (await _verify(api))["first_break"]
    assert (brk["kind"], brk["seq"]) == ("content_changed", rows[1]["seq"])


def _forged(ctx: AppContext, prev_hash: str, **changes: Any) -> AuditEvent:
    """A well-formed event linked after `prev_hash`, as an attacker who knows the scheme
    would compute it."""
    fields: dict[str, Any] = {"id": "ae-forged", "occurred_at": ctx.clock.now(), **changes}
    event = AuditEvent(
        actor="admin-user",
        actor_type=ActorType.USER,
        action="team_created",
        resource_type="team",
        resource_id="t-forged",
        **fields,
    )
    return link([event], prev_hash)[0]


async def _insert(ctx: AppContext, event: AuditEvent, **extra: Any) -> None:
    async with ctx.runtime.db.engine.begin() as conn:
        await conn.execute(insert(AuditEventRow), [{**row_columns(event), **extra}])


async def test_row_appended_outside_the_chain_is_a_head_mismatch(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """An inserted row that even links correctly is caught: the head does not name it."""
    await _three_teams(api)
    rows = await _rows(ctx)
    await _drop_guards(ctx)
    await _insert(ctx, _forged(ctx, rows[-1]["row_hash"]))
    found = await _verify(api)
    assert found["first_break"]["kind"] == "head_mismatch"
    assert found["rows_checked"] == 4


async def test_database_refuses_a_row_that_does_not_extend_the_head(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """An insert whose prev_hash is not the newest row's hash fails in the database."""
    await _three_teams(api)
    with pytest.raises(DBAPIError, match="does not extend the chain head"):
        await _insert(ctx, _forged(ctx, GENESIS))
    assert len(await _rows(ctx)) == 3


async def test_database_refuses_a_backdated_row(api: httpx.AsyncClient, ctx: AppContext) -> None:
    """A forged row dated 2020 is refused even when it links to the head."""
    await _three_teams(api)
    rows = await _rows(ctx)
    backdated = ctx.clock.now().replace(year=2020)
    with pytest.raises(DBAPIError, match="older than the chain head"):
        await _insert(ctx, _forged(ctx, rows[-1]["row_hash"], occurred_at=backdated))
    assert len(await _rows(ctx)) == 3


async def test_database_refuses_a_reused_id(api: httpx.AsyncClient, ctx: AppContext) -> None:
    """Re-inserting an existing id is refused, even linked to the head."""
    await _three_teams(api)
    rows = await _rows(ctx)
    with pytest.raises(DBAPIError):
        await _insert(ctx, _forged(ctx, rows[-1]["row_hash"], id=rows[0]["id"]))
    assert len(await _rows(ctx)) == 3


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_refuses_insert_or_replace_of_an_existing_row(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """INSERT OR REPLACE with an existing id and seq fires no DELETE trigger; the insert
    guard refuses it, and the row is unchanged."""
    await _three_teams(api)
    row = (await _rows(ctx))[0]
    forged = {**row, "actor": "mallory"}
    columns = ", ".join(forged)
    values = ", ".join(f":{c}" for c in forged)
    with pytest.raises(DBAPIError, match="append-only"):
        await _sql(
            ctx, f"INSERT OR REPLACE INTO audit_events ({columns}) VALUES ({values})", **forged
        )
    assert (await _rows(ctx))[0] == row
    assert (await _verify(api))["intact"] is True


@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_concurrent_appends_keep_one_linear_chain(ctx: AppContext) -> None:
    """Forty transactions appending at once on PostgreSQL leave one intact chain of 40 rows."""

    async def append(n: int) -> None:
        async with ctx.runtime.db.uow() as uow:
            await record(
                uow,
                ctx.runtime,
                caller=SYSTEM_CALLER,
                action="probe",
                resource_type="t",
                resource_id=str(n),
            )

    await asyncio.gather(*(append(n) for n in range(40)))
    report = await ctx.audit.verify_chain()
    assert (report.intact, report.rows_checked) == (True, 40)


@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_guard_reads_the_head_by_index_after_the_trail_was_vacuumed_empty(
    ctx: AppContext,
) -> None:
    """A batch of 50 appends to a trail vacuumed while empty scans audit_events 0 times
    sequentially: the guard's head read stays an index probe (no O(n²) batch)."""
    async with ctx.runtime.db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE audit_events"))
    events = link(
        [
            AuditEvent(
                id=f"ae-{n}",
                occurred_at=ctx.clock.now(),
                actor="system",
                actor_type=ActorType.SYSTEM,
                action="probe",
                resource_type="t",
                resource_id=str(n),
            )
            for n in range(50)
        ],
        GENESIS,
    )
    async with ctx.runtime.db.engine.begin() as conn:
        await conn.execute(insert(AuditEventRow), [row_columns(e) for e in events])
        scans = await conn.scalar(
            text("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'audit_events'")
        )
    assert scans == 0
    assert len(await _rows(ctx)) == 50


async def test_loop_reports_the_break_and_sets_the_metric(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """The audit_verify loop's summary names the first broken row; the gauge drops to 0."""
    await _three_teams(api)
    assert (await audit_verify(ctx))["intact"] is True
    assert ctx.metrics.registry.get_sample_value("certctl_audit_chain_intact") == 1
    rows = await _rows(ctx)
    await _drop_guards(ctx)
    await _sql(ctx, "UPDATE audit_events SET details = '{}' WHERE seq = :s", s=rows[0]["seq"])
    summary = await audit_verify(ctx)
    assert summary["intact"] is False
    assert (summary["first_break"]["kind"], summary["first_break"]["seq"]) == (
        "content_changed",
        rows[0]["seq"],
    )
    assert ctx.metrics.registry.get_sample_value("certctl_audit_chain_intact") == 0
    assert (
        ctx.metrics.registry.get_sample_value(
            "certctl_audit_chain_verifications_total", {"result": "broken"}
        )
        == 1
    )
