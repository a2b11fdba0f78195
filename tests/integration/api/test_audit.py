"""The audit trail: one row per change, refused writes recorded, rows immutable in the database."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from certctl.bootstrap import AppContext

Client = Callable[[str | None], httpx.AsyncClient]


async def test_create_update_delete_each_write_one_row(api: httpx.AsyncClient) -> None:
    """A team's life writes team_created, team_updated (with the diff) and team_deleted."""
    created = (await api.post("/api/v1/teams", json={"name": "A"})).json()
    await api.patch(f"/api/v1/teams/{created['id']}", json={"description": "edge"})
    await api.delete(f"/api/v1/teams/{created['id']}")
    rows = (await api.get(f"/api/v1/audit?resource_id={created['id']}")).json()["data"]
    assert [r["action"] for r in rows] == ["team_deleted", "team_updated", "team_created"]
    assert all(r["actor"] == "admin-user" and r["actor_type"] == "User" for r in rows)
    assert all(r["status"] == "success" and r["resource_type"] == "team" for r in rows)
    assert rows[1]["details"] == {"description": {"from": "", "to": "edge"}}


async def test_row_carries_the_request_id(api: httpx.AsyncClient) -> None:
    """The X-Request-ID the client sent is echoed and stored on the audit row."""
    response = await api.post(
        "/api/v1/teams", json={"name": "A"}, headers={"X-Request-ID": "req-42"}
    )
    assert response.headers["x-request-id"] == "req-42"
    rows = (await api.get("/api/v1/audit?action=team_created")).json()["data"]
    assert rows[0]["request_id"] == "req-42"


async def test_owner_email_is_masked_in_details(api: httpx.AsyncClient) -> None:
    """PII in audit details is masked."""
    await api.post("/api/v1/owners", json={"name": "Alice", "email": "alice@example.com"})
    rows = (await api.get("/api/v1/audit?action=owner_created")).json()["data"]
    assert rows[0]["details"]["email"] == "a***@example.com"


async def test_refused_write_is_audited_as_denied(make_client: Client) -> None:
    """A viewer's write attempt leaves a `denied` row naming the route and the reason."""
    await make_client("viewer").post("/api/v1/teams", json={"name": "A"})
    rows = (await make_client("admin").get("/api/v1/audit?actor=viewer-user")).json()["data"]
    assert len(rows) == 1
    assert (rows[0]["action"], rows[0]["status"], rows[0]["resource_type"]) == (
        "team_create_denied",
        "denied",
        "team",
    )
    assert rows[0]["details"]["http_status"] == 403


async def test_failed_write_is_audited_as_failure(api: httpx.AsyncClient) -> None:
    """An invalid write changes nothing but is recorded with its HTTP status."""
    await api.post(
        "/api/v1/renewal-policies", json={"name": "p", "alert_channels": {"critical": ["PagerD"]}}
    )
    rows = (await api.get("/api/v1/audit?status=failure")).json()["data"]
    assert len(rows) == 1
    assert rows[0]["details"]["http_status"] == 400
    assert "PagerD" in rows[0]["details"]["detail"]


async def test_filters_combine(api: httpx.AsyncClient, ctx: AppContext) -> None:
    """actor, action, resource_type and a time window narrow the trail."""
    await api.post("/api/v1/teams", json={"name": "A"})
    await api.post("/api/v1/owners", json={"name": "x", "email": "x@example.com"})
    now = ctx.clock.now().isoformat().replace("+00:00", "Z")
    page = (await api.get(f"/api/v1/audit?resource_type=owner&actor=admin-user&since={now}")).json()
    assert [r["action"] for r in page["data"]] == ["owner_created"]
    assert page["total"] == 1
    assert (await api.get(f"/api/v1/audit?until={now}")).json()["total"] == 0


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"],
)
async def test_database_refuses_to_rewrite_audit_rows(
    api: httpx.AsyncClient, ctx: AppContext, statement: str
) -> None:
    """UPDATE and DELETE on audit_events fail in the database itself, on SQLite and PostgreSQL."""
    await api.post("/api/v1/teams", json={"name": "A"})
    with pytest.raises(DBAPIError, match="append-only"):
        async with ctx.runtime.db.engine.begin() as conn:
            await conn.execute(text(statement))
    rows = (await api.get("/api/v1/audit")).json()["data"]
    assert [r["actor"] for r in rows] == ["admin-user"]


@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_postgres_refuses_truncate(api: httpx.AsyncClient, ctx: AppContext) -> None:
    """On PostgreSQL (SQLite has no TRUNCATE) even TRUNCATE is refused by a statement trigger."""
    await api.post("/api/v1/teams", json={"name": "A"})
    with pytest.raises(DBAPIError, match="append-only"):
        async with ctx.runtime.db.engine.begin() as conn:
            await conn.execute(text("TRUNCATE audit_events"))
