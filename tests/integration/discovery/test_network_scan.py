"""Network scans: a real TLS server on loopback is found, limits and the SSRF guard hold (C8)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from certctl.bootstrap import AppContext
from certctl.connectors.tlsprobe import ServedChain
from certctl.domain.access import SYSTEM_CALLER
from certctl.errors import InvalidRequest
from certctl.services.network_scan import NetworkScanService, ScanLimits
from certctl.testing.tlsserver import Issued, OpensslCA, sha256_of, tls_server


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    """A leaf for shop.test signed by an openssl root."""
    ca = OpensslCA(tmp_path_factory.mktemp("scan-ca"))
    return ca.issue("shop", "shop.test", ["shop.test", "www.shop.test"], serial=0x99)


@pytest.fixture
async def port(issued: Issued) -> AsyncIterator[int]:
    """The port of a TLS server on 127.0.0.1 serving the leaf and its root."""
    async with tls_server(issued) as listening:
        yield listening


async def test_a_scan_of_loopback_over_a_port_range_finds_the_tls_server(
    api: httpx.AsyncClient, issued: Issued, port: int
) -> None:
    """Three ports around the server: one endpoint, its chain and a new Unmanaged discovery."""
    ports = [port - 1, port, port + 1]
    created = await api.post(
        "/api/v1/discovery-scans", json={"cidrs": ["127.0.0.1/32"], "ports": ports}
    )
    assert created.status_code == 202
    scan_id = created.json()["id"]
    scan = (await api.get(f"/api/v1/discovery-scans/{scan_id}")).json()
    assert (scan["status"], scan["addresses"], scan["probed"]) == ("Completed", 1, 3)
    assert (scan["endpoints_found"], scan["certificates_found"]) == (1, 1)
    (endpoint,) = scan["endpoints"]
    assert (endpoint["host"], endpoint["port"]) == ("127.0.0.1", port)
    assert endpoint["leaf_fingerprint_sha256"] == sha256_of(issued.cert)
    assert endpoint["chain_pem"] == issued.chain.read_text()
    found = (await api.get("/api/v1/discoveries", params={"scan_id": scan_id})).json()
    assert [(d["location"], d["source"], d["status"], d["common_name"]) for d in found["data"]] == [
        (f"127.0.0.1:{port}", "network", "Unmanaged", "shop.test")
    ]


async def test_a_scanned_endpoint_can_be_claimed_with_its_served_chain(
    api: httpx.AsyncClient, issued: Issued, port: int
) -> None:
    """Claiming a network discovery stores the served chain as the first version."""
    await api.post("/api/v1/discovery-scans", json={"cidrs": ["127.0.0.1"], "ports": [port]})
    (found,) = (await api.get("/api/v1/discoveries")).json()["data"]
    claimed = await api.post(f"/api/v1/discoveries/{found['id']}/claim", json={"name": "shop"})
    assert claimed.status_code == 201
    cert = claimed.json()["certificate"]
    assert (cert["name"], cert["sans"], cert["status"]) == (
        "shop",
        ["shop.test", "www.shop.test"],
        "Active",
    )
    version = (await api.get(f"/api/v1/certificates/{cert['id']}/versions/latest")).json()
    assert version["pem_chain"] == issued.chain.read_text()


async def test_a_slash_19_is_refused_naming_the_field(api: httpx.AsyncClient) -> None:
    """8192 addresses is over the /20 limit: 400 on cidrs[0] and no scan stored."""
    response = await api.post(
        "/api/v1/discovery-scans", json={"cidrs": ["10.0.0.0/19"], "ports": [443]}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cidrs[0]"
    assert (await api.get("/api/v1/discovery-scans")).json()["total"] == 0


async def test_the_metadata_address_is_refused_even_with_private_ranges_allowed(
    api: httpx.AsyncClient,
) -> None:
    """169.254.169.254 is link-local: refused on the field that names it, nothing stored."""
    response = await api.post(
        "/api/v1/discovery-scans", json={"cidrs": ["127.0.0.1", "169.254.169.254"], "ports": [80]}
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"][0]["field"] == "cidrs[1]"
    assert "link-local" in problem["detail"]
    assert (await api.get("/api/v1/discovery-scans")).json()["total"] == 0


async def test_loopback_is_refused_unless_private_targets_are_allowed(ctx: AppContext) -> None:
    """Without CERTCTL_ALLOW_PRIVATE_TARGETS a loopback scan is a 400 on the CIDR."""
    strict = NetworkScanService(ctx.runtime, ScanLimits(allow_private=False))
    with pytest.raises(InvalidRequest) as refused:
        await strict.start(SYSTEM_CALLER, ["127.0.0.0/30"], [443])
    assert refused.value.field == "cidrs[0]"


async def test_a_pending_scan_runs_once(ctx: AppContext, port: int) -> None:
    """The loop runs a Pending scan; a second runner finds it taken and does nothing."""
    scan = await ctx.network_scans.start(SYSTEM_CALLER, ["127.0.0.1"], [port])
    assert await ctx.network_scans.run_pending() == {"scans_run": 1}
    assert await ctx.network_scans.run(scan.id) is None
    done, endpoints = await ctx.network_scans.get(SYSTEM_CALLER, scan.id)
    assert (done.status.value, len(endpoints)) == ("Completed", 1)


async def test_an_operator_scans_and_a_viewer_cannot(make_client: object, port: int) -> None:
    """Viewer: 403 on create, 200 on list."""
    viewer = make_client("viewer")  # type: ignore[operator]
    body = {"cidrs": ["127.0.0.1"], "ports": [port]}
    assert (await viewer.post("/api/v1/discovery-scans", json=body)).status_code == 403
    assert (await viewer.get("/api/v1/discovery-scans")).status_code == 200


async def test_a_scan_that_cannot_finish_ends_failed_with_the_error(ctx: AppContext) -> None:
    """A prober that breaks (not a refused connection) leaves the scan Failed, not Running."""

    async def broken(host: str, port: int, **_: object) -> ServedChain:
        raise RuntimeError(f"resolver gone while probing {host}:{port}")

    service = NetworkScanService(ctx.runtime, ScanLimits(allow_private=True), prober=broken)
    scan = await service.start(SYSTEM_CALLER, ["127.0.0.1"], [443])
    done = await service.run(scan.id)
    assert done is not None
    assert (done.status.value, done.error) == (
        "Failed",
        "RuntimeError: resolver gone while probing 127.0.0.1:443",
    )
    stored, _ = await service.get(SYSTEM_CALLER, scan.id)
    assert stored.status.value == "Failed"
