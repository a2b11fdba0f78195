"""The Discovery page: summary, triage buttons that claim and dismiss, the scan form, drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from certctl.agent.discovery import scan_paths
from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.discovery import DiscoveryFilter, DiscoveryStatus
from certctl.domain.inventory import Agent
from certctl.domain.listing import PageRequest, SortKey
from certctl.settings import Settings
from certctl.testing.clock import TEST_EPOCH
from certctl.testing.tlsserver import OpensslCA, tls_server

from .conftest import SignedIn


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback scans need CERTCTL_ALLOW_PRIVATE_TARGETS."""
    return settings.model_copy(update={"allow_private_targets": True})


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> OpensslCA:
    """A root and a leaf for page.test made with openssl."""
    authority = OpensslCA(tmp_path_factory.mktemp("page-ca"))
    authority.issue("page", "page.test", ["page.test"], serial=3)
    return authority


async def _reported(ctx: AppContext, ca: OpensslCA) -> list[str]:
    """page.test's leaf+root bundle reported by an agent; discovery ids, leaf first."""
    await ctx.agents.register(
        SYSTEM_CALLER, Agent(id="ag-p", name="p", created_at=TEST_EPOCH, updated_at=TEST_EPOCH)
    )
    await ctx.discovery.report_from_agent(
        SYSTEM_CALLER, "ag-p", scan_paths([Path(ca.dir / "page-chain.pem")])
    )
    found = await ctx.discovery.search(
        SYSTEM_CALLER,
        request=PageRequest(),
        sort=SortKey("index_in_file"),
        filters=DiscoveryFilter(),
    )
    return [d.id for d in found.items]


async def test_the_page_lists_unmanaged_discoveries_with_triage_forms(
    ctx: AppContext, ca: OpensslCA, signed_in: SignedIn
) -> None:
    """An operator sees both certificates with a claim and a dismiss form, and the summary."""
    ids = await _reported(ctx, ca)
    html = (await (await signed_in("operator")).get("/discovery")).text
    assert sorted(re.findall(r'<tr data-discovery="([^"]+)">', html)) == sorted(ids)
    for discovery_id in ids:
        assert f'action="/discovery/{discovery_id}/claim"' in html
        assert f'action="/discovery/{discovery_id}/dismiss"' in html
    assert "Unmanaged: 2" in html


async def test_a_viewer_sees_no_triage_or_scan_form(
    ctx: AppContext, ca: OpensslCA, signed_in: SignedIn
) -> None:
    """Read-only visitors get the list without forms."""
    await _reported(ctx, ca)
    html = (await (await signed_in("viewer")).get("/discovery")).text
    assert "/claim" not in html
    assert 'action="/discovery/scans"' not in html


async def test_claim_opens_the_new_certificate(
    ctx: AppContext, ca: OpensslCA, signed_in: SignedIn
) -> None:
    """Claim redirects to the managed certificate; the discovery is Claimed."""
    leaf = (await _reported(ctx, ca))[0]
    answer = await (await signed_in("operator")).post(
        f"/discovery/{leaf}/claim", {"environment": "prod"}
    )
    assert answer.status_code == 303
    assert re.fullmatch(r"/certificates/mc-[0-9a-z]+\?flash=claimed", answer.headers["location"])
    found, _ = await ctx.discovery.get(SYSTEM_CALLER, leaf)
    assert found.status is DiscoveryStatus.CLAIMED


async def test_dismiss_with_a_reason(ctx: AppContext, ca: OpensslCA, signed_in: SignedIn) -> None:
    """Dismiss stores the reason; without one the page answers 400."""
    root = (await _reported(ctx, ca))[1]
    browser = await signed_in("operator")
    assert (await browser.post(f"/discovery/{root}/dismiss", {"reason": ""})).status_code == 400
    answer = await browser.post(f"/discovery/{root}/dismiss", {"reason": "root copy"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/discovery?flash=dismissed")
    found, _ = await ctx.discovery.get(SYSTEM_CALLER, root)
    assert (found.status, found.dismissed_reason) == (DiscoveryStatus.DISMISSED, "root copy")


async def test_the_scan_form_runs_a_scan_of_loopback(
    ctx: AppContext, ca: OpensslCA, signed_in: SignedIn
) -> None:
    """The form's scan finds the TLS server; it shows under Recent scans."""
    browser = await signed_in("operator")
    issued = ca.issue("served", "served.test", ["served.test"], serial=4)
    async with tls_server(issued) as port:
        answer = await browser.post("/discovery/scans", {"cidrs": "127.0.0.1", "ports": str(port)})
    assert answer.status_code == 303
    html = (await browser.get("/discovery")).text
    assert "served.test" in html
    assert re.search(
        r'127\.0\.0\.1/32 : \d+</td><td data-label="Status"><span class="badge badge-ok">Completed',
        html,
    )


async def test_the_scan_form_refuses_a_slash_19(signed_in: SignedIn) -> None:
    """A /19 answers 400 with the limit in the page."""
    answer = await (await signed_in("operator")).post(
        "/discovery/scans", {"cidrs": "10.0.0.0/19", "ports": "443"}
    )
    assert answer.status_code == 400
    assert "at most a /20" in answer.text
