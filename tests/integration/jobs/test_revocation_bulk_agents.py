"""Revocation side effects, bulk renew/revoke, agents and the one-open-job guarantee."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.inventory import Agent, AgentStatus
from certctl.domain.listing import PageRequest
from certctl.errors import Conflict
from certctl.pki.csr import make_csr
from certctl.services.notifications import NotificationFilter

from .conftest import MakeCert

ClientFor = Callable[[str | None], httpx.AsyncClient]


async def _events(ctx: AppContext, cert_id: str) -> list[tuple[str, str, str]]:
    page = await ctx.notifications.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=100),
        filters=NotificationFilter(certificate_id=cert_id),
    )
    return sorted((e.kind.value, e.channel, e.recipient) for e in page.items)


async def test_revocation_cancels_open_jobs_and_queues_notifications(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """Revoking cancels the renewal and writes Email + Webhook revocation notifications."""
    owner = await api.post("/api/v1/owners", json={"name": "Alice", "email": "alice@example.com"})
    cert = await make_cert(owner_id=owner.json()["id"])
    job = (await api.post(f"/api/v1/certificates/{cert['id']}/renew")).json()
    response = await api.post(
        f"/api/v1/certificates/{cert['id']}/revoke", json={"reason": "keyCompromise"}
    )
    assert response.status_code == 200
    cancelled = (await api.get(f"/api/v1/jobs/{job['id']}")).json()
    assert (cancelled["status"], cancelled["decision_reason"]) == (
        "Cancelled",
        "certificate revoked",
    )
    assert await _events(ctx, cert["id"]) == [
        ("revocation", "Email", "alice@example.com"),
        ("revocation", "Webhook", "alice@example.com"),
    ]
    listed = (await api.get("/api/v1/notifications", params={"kind": "revocation"})).json()
    assert {n["subject"] for n in listed["data"]} == {"Certificate web was revoked (keyCompromise)"}


async def test_archiving_cancels_open_jobs(api: httpx.AsyncClient, make_cert: MakeCert) -> None:
    """An archived certificate is never issued again: its open job is cancelled."""
    cert = await make_cert()
    job = (await api.post(f"/api/v1/certificates/{cert['id']}/renew")).json()
    assert (await api.delete(f"/api/v1/certificates/{cert['id']}")).status_code == 200
    after = (await api.get(f"/api/v1/jobs/{job['id']}")).json()
    assert (after["status"], after["decision_reason"]) == ("Cancelled", "certificate archived")


async def test_two_simultaneous_renewals_open_one_job(make_cert: MakeCert, ctx: AppContext) -> None:
    """The database keeps one open issuing job per certificate even under a race."""
    cert = await make_cert()
    results = await asyncio.gather(
        *(ctx.jobs.request_renewal(SYSTEM_CALLER, cert["id"]) for _ in range(4)),
        return_exceptions=True,
    )
    assert sum(1 for r in results if isinstance(r, Conflict)) == 3
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1


# --- Bulk ------------------------------------------------------------------------------------


async def test_bulk_revoke_by_criteria_summarises(
    api: httpx.AsyncClient, make_cert: MakeCert
) -> None:
    """Matched, revoked and already-revoked counts; other environments untouched."""
    ids = [(await make_cert(f"s{i}", environment="staging"))["id"] for i in range(3)]
    keep = await make_cert("prod", environment="production")
    await api.post(f"/api/v1/certificates/{ids[0]}/revoke", json={})
    response = await api.post(
        "/api/v1/certificates/bulk-revoke",
        json={"environment": "staging", "reason": "cessationOfOperation"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "total_matched": 3,
        "total_enqueued": 2,
        "total_skipped": 1,
        "total_failed": 0,
        "errors": [],
    }
    revoked = (await api.get("/api/v1/certificates", params={"status": "Revoked"})).json()
    assert sorted(c["id"] for c in revoked["data"]) == sorted(ids)
    assert {c["revocation_reason"] for c in revoked["data"]} == {
        "unspecified",
        "cessationOfOperation",
    }
    untouched = (await api.get(f"/api/v1/certificates/{keep['id']}")).json()
    assert untouched["status"] == "Pending"


async def test_bulk_revoke_is_admin_only(
    make_client: ClientFor, make_cert: MakeCert, api: httpx.AsyncClient
) -> None:
    """An operator gets 403 and nothing is revoked."""
    cert = await make_cert()
    response = await make_client("operator").post(
        "/api/v1/certificates/bulk-revoke", json={"certificate_ids": [cert["id"]]}
    )
    assert response.status_code == 403
    assert (await api.get(f"/api/v1/certificates/{cert['id']}")).json()["status"] == "Pending"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "certificate_ids"),
        ({"certificate_ids": ["mc-x"], "reason": "bored"}, "reason"),
    ],
)
async def test_bulk_revoke_refuses_bad_requests_whole(
    api: httpx.AsyncClient, make_cert: MakeCert, body: dict[str, object], field: str
) -> None:
    """No criteria at all, or an unknown reason: 400 naming the field, nothing changed."""
    cert = await make_cert()
    response = await api.post("/api/v1/certificates/bulk-revoke", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert (await api.get(f"/api/v1/certificates/{cert['id']}")).json()["status"] == "Pending"


async def test_bulk_renew_counts_enqueued_skipped_and_failed(
    api: httpx.AsyncClient, make_cert: MakeCert
) -> None:
    """Open job or revoked: skipped; no issuer: failed with the reason; others enqueued."""
    fresh = await make_cert("fresh")
    busy = await make_cert("busy")
    await api.post(f"/api/v1/certificates/{busy['id']}/renew")
    gone = await make_cert("gone")
    await api.post(f"/api/v1/certificates/{gone['id']}/revoke", json={})
    bare = await api.post(
        "/api/v1/certificates", json={"name": "bare", "common_name": "bare.example.com"}
    )
    bare_id = bare.json()["id"]
    response = await api.post(
        "/api/v1/certificates/bulk-renew",
        json={"certificate_ids": [fresh["id"], busy["id"], gone["id"], bare_id]},
    )
    assert response.status_code == 200
    assert response.json() == {
        "total_matched": 4,
        "total_enqueued": 1,
        "total_skipped": 2,
        "total_failed": 1,
        "errors": [
            {"certificate_id": bare_id, "detail": "the certificate has no issuer to renew it with"}
        ],
    }


# --- Agents ----------------------------------------------------------------------------------


@pytest.fixture
async def agents(ctx: AppContext) -> list[str]:
    """Two registered agents."""
    now = ctx.clock.now()
    ids = []
    async with ctx.runtime.db.uow() as uow:
        for name, status in (("web-01", AgentStatus.ONLINE), ("db-01", AgentStatus.OFFLINE)):
            agent = Agent(
                id=f"ag-{name}",
                name=name,
                created_at=now,
                updated_at=now,
                hostname=f"{name}.internal",
                status=status,
                last_heartbeat_at=datetime(2026, 6, 1, 11, 58, tzinfo=now.tzinfo),
            )
            await uow.agents.add(agent)
            ids.append(agent.id)
    return ids


async def test_agents_list_and_filter(api: httpx.AsyncClient, agents: list[str]) -> None:
    """Agents list by name; status filters."""
    listed = (await api.get("/api/v1/agents")).json()
    assert [a["name"] for a in listed["data"]] == ["db-01", "web-01"]
    online = (await api.get("/api/v1/agents", params={"status": "Online"})).json()
    assert [a["id"] for a in online["data"]] == ["ag-web-01"]


async def test_retiring_an_agent_hides_it_and_is_audited(
    api: httpx.AsyncClient, agents: list[str]
) -> None:
    """Retire keeps the record (include_retired shows it); a second retire is 409."""
    response = await api.post("/api/v1/agents/ag-db-01/retire", json={"reason": "host gone"})
    assert response.status_code == 200
    body = response.json()
    assert (body["retired_reason"], body["status"]) == ("host gone", "Offline")
    assert body["retired_at"] == "2026-06-01T12:00:00Z"
    listed = (await api.get("/api/v1/agents")).json()
    assert [a["id"] for a in listed["data"]] == ["ag-web-01"]
    everything = (await api.get("/api/v1/agents", params={"include_retired": "true"})).json()
    assert everything["total"] == 2
    again = await api.post("/api/v1/agents/ag-db-01/retire", json={"reason": "again"})
    assert again.status_code == 409
    audit = (await api.get("/api/v1/audit", params={"action": "agent_retired"})).json()
    assert [(e["resource_id"], e["details"]["reason"]) for e in audit["data"]] == [
        ("ag-db-01", "host gone")
    ]


@pytest.mark.parametrize(("role", "reason", "status"), [("viewer", "x", 403), ("admin", " ", 400)])
async def test_retire_refusals(
    make_client: ClientFor, agents: list[str], role: str, reason: str, status: int
) -> None:
    """Viewers cannot retire; a blank reason is 400."""
    response = await make_client(role).post(
        "/api/v1/agents/ag-web-01/retire", json={"reason": reason}
    )
    assert response.status_code == status


async def test_bulk_revoke_publishes_the_crl_and_marks_each_revocation(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """Issued leaves revoked in bulk are on the CA's CRL and recorded as published there."""
    ids = []
    for name in ("a", "b"):
        cert = await make_cert(name)
        csr, _ = make_csr(f"{name}.example.com", (f"{name}.example.com",), "ECDSA-P256")
        issued = await api.post(f"/api/v1/certificates/{cert['id']}/csr", json={"csr_pem": csr})
        assert issued.status_code == 201
        ids.append(cert["id"])
    response = await api.post(
        "/api/v1/certificates/bulk-revoke", json={"certificate_ids": ids, "reason": "superseded"}
    )
    assert response.json()["total_enqueued"] == 2
    async with ctx.runtime.db.uow() as uow:
        revocations = await uow.pki.all_revocations()
    assert sorted((r.certificate_id, r.issuer_notified) for r in revocations) == sorted(
        (i, True) for i in ids
    )
