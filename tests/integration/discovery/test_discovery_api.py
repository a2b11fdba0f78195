"""Agent reports, de-duplication, listing, summary, claim and dismiss through the API (C8)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from certctl.agent.discovery import scan_paths
from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER, Caller, Principal, Role
from certctl.domain.discovery import DiscoveredFile
from certctl.domain.inventory import Agent
from certctl.testing.clock import TEST_EPOCH
from certctl.testing.tlsserver import OpensslCA, sha256_of

AGENT_CALLER = Caller(principal=Principal(name="agent-web-1", role=Role.AGENT))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, OpensslCA]:
    """A directory with a leaf+root bundle made by openssl."""
    ca = OpensslCA(tmp_path_factory.mktemp("ca"))
    ca.issue("web", "web.test", ["web.test"], serial=0x51)
    root = tmp_path_factory.mktemp("etc")
    (root / "fullchain.pem").write_bytes((ca.dir / "web-chain.pem").read_bytes())
    return root, ca


async def _agent(ctx: AppContext) -> str:
    agent = Agent(id="ag-web-1", name="web-1", created_at=TEST_EPOCH, updated_at=TEST_EPOCH)
    await ctx.agents.register(SYSTEM_CALLER, agent)
    return agent.id


async def _report(ctx: AppContext, found: list[DiscoveredFile]) -> dict[str, int]:
    agent_id = "ag-web-1"
    summary = await ctx.discovery.report_from_agent(AGENT_CALLER, agent_id, found)
    return {"received": summary.received, "new": summary.new, "refreshed": summary.refreshed}


async def test_a_re_report_updates_last_seen_instead_of_adding_rows(
    ctx: AppContext, clock: FrozenClock, api: httpx.AsyncClient, files: tuple[Path, OpensslCA]
) -> None:
    """The same (fingerprint, agent, path) reported twice is one row whose last_seen moves."""
    await _agent(ctx)
    found = scan_paths([files[0]])
    assert await _report(ctx, found) == {"received": 2, "new": 2, "refreshed": 0}
    clock.advance(timedelta(hours=1))
    assert await _report(ctx, found) == {"received": 2, "new": 0, "refreshed": 2}
    body = (await api.get("/api/v1/discoveries", params={"sort": "location"})).json()
    assert body["total"] == 2
    leaf = next(d for d in body["data"] if d["common_name"] == "web.test")
    assert leaf["first_seen_at"] == "2026-06-01T12:00:00Z"
    assert leaf["last_seen_at"] == "2026-06-01T13:00:00Z"
    assert (leaf["agent_id"], leaf["source"], leaf["status"]) == (
        "ag-web-1", "filesystem", "Unmanaged",
    )  # fmt: skip
    assert leaf["fingerprint_sha256"] == sha256_of(files[1].dir / "web.pem")
    assert (leaf["serial_number"], leaf["index_in_file"]) == ("51", 0)


async def test_a_report_for_an_unknown_agent_is_404_and_records_nothing(
    ctx: AppContext, api: httpx.AsyncClient, files: tuple[Path, OpensslCA]
) -> None:
    """No agent row: NotFound, no discovery stored."""
    from certctl.errors import NotFound

    with pytest.raises(NotFound):
        await _report(ctx, scan_paths([files[0]]))
    assert (await api.get("/api/v1/discoveries")).json()["total"] == 0


async def test_claim_creates_an_active_managed_certificate_with_the_facts_and_audit(
    ctx: AppContext, api: httpx.AsyncClient, files: tuple[Path, OpensslCA]
) -> None:
    """Claim: the certificate takes CN, SANs, expiry and a version; the discovery is Claimed."""
    await _agent(ctx)
    await _report(ctx, scan_paths([files[0]]))
    page = (await api.get("/api/v1/discoveries", params={"q": "web.test"})).json()
    (leaf,) = page["data"]
    response = await api.post(
        f"/api/v1/discoveries/{leaf['id']}/claim", json={"environment": "prod"}
    )
    assert response.status_code == 201
    cert, version, discovery = (response.json()[k] for k in ("certificate", "version", "discovery"))
    assert (cert["name"], cert["common_name"], cert["sans"]) == (
        "web.test",
        "web.test",
        ["web.test"],
    )
    assert (cert["status"], cert["source"], cert["environment"]) == ("Active", "discovery", "prod")
    assert cert["expires_at"] == leaf["not_after"]
    assert version["fingerprint_sha256"] == leaf["fingerprint_sha256"]
    assert version["serial_number"] == "51"
    assert (discovery["status"], discovery["managed_certificate_id"]) == ("Claimed", cert["id"])
    assert discovery["triaged_by"] == "admin-user"
    audit = (await api.get("/api/v1/audit", params={"resource_type": "discovery"})).json()
    assert [(a["action"], a["resource_id"]) for a in audit["data"]] == [
        ("discovery_claimed", leaf["id"])
    ]
    again = await api.post(f"/api/v1/discoveries/{leaf['id']}/claim", json={})
    assert again.status_code == 409


async def test_dismiss_needs_a_reason_and_marks_the_discovery(
    ctx: AppContext, api: httpx.AsyncClient, files: tuple[Path, OpensslCA]
) -> None:
    """An empty reason is 400 on `reason`; a reason makes it Dismissed; the summary follows."""
    await _agent(ctx)
    await _report(ctx, scan_paths([files[0]]))
    page = (await api.get("/api/v1/discoveries", params={"q": "Discovery Test Root"})).json()
    (root,) = page["data"]
    empty = await api.post(f"/api/v1/discoveries/{root['id']}/dismiss", json={"reason": " "})
    assert empty.status_code == 400
    assert empty.json()["errors"][0]["field"] == "reason"
    done = await api.post(f"/api/v1/discoveries/{root['id']}/dismiss", json={"reason": "CA copy"})
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["dismissed_reason"]) == ("Dismissed", "CA copy")
    summary = (await api.get("/api/v1/discoveries/summary")).json()
    assert summary == {
        "total": 2,
        "by_status": {"Unmanaged": 1, "Claimed": 0, "Dismissed": 1},
        "expiring_within_30_days": 0,
        "expired": 0,
        "by_agent": {"ag-web-1": 2},
        "by_scan": {},
    }


async def test_a_viewer_reads_but_cannot_triage(
    ctx: AppContext,
    make_client: object,
    files: tuple[Path, OpensslCA],
) -> None:
    """Viewer: list 200, claim and dismiss 403."""
    await _agent(ctx)
    await _report(ctx, scan_paths([files[0]]))
    viewer = make_client("viewer")  # type: ignore[operator]
    page = (await viewer.get("/api/v1/discoveries")).json()
    first = page["data"][0]["id"]
    assert (await viewer.post(f"/api/v1/discoveries/{first}/claim", json={})).status_code == 403
    dismissed = await viewer.post(f"/api/v1/discoveries/{first}/dismiss", json={"reason": "x"})
    assert dismissed.status_code == 403
