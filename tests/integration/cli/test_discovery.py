"""`certctl discovery …` and `certctl drift list` against the app in process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from certctl.agent.discovery import scan_paths
from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.discovery import DiscoveryFilter
from certctl.domain.inventory import Agent
from certctl.domain.listing import PageRequest, SortKey
from certctl.settings import Settings
from certctl.testing.clock import TEST_EPOCH
from certctl.testing.tlsserver import Issued, OpensslCA, tls_server

from .conftest import Cli, fields, rows


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback scans need CERTCTL_ALLOW_PRIVATE_TARGETS."""
    return settings.model_copy(update={"allow_private_targets": True})


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    """An openssl leaf and its root."""
    ca = OpensslCA(tmp_path_factory.mktemp("cli-ca"))
    return ca.issue("cli", "cli.test", ["cli.test"], serial=0x2A)


@pytest.fixture
async def reported(ctx: AppContext, issued: Issued) -> list[str]:
    """The leaf+root bundle reported by agent ag-1; the discovery ids, leaf first."""
    await ctx.agents.register(
        SYSTEM_CALLER, Agent(id="ag-1", name="one", created_at=TEST_EPOCH, updated_at=TEST_EPOCH)
    )
    await ctx.discovery.report_from_agent(SYSTEM_CALLER, "ag-1", scan_paths([issued.chain]))
    found = await ctx.discovery.search(
        SYSTEM_CALLER,
        request=PageRequest(),
        sort=SortKey("index_in_file"),
        filters=DiscoveryFilter(),
    )
    return [d.id for d in found.items]


async def test_list_json_is_the_api_answer(
    cli: Cli, api: httpx.AsyncClient, reported: list[str]
) -> None:
    """`discovery list --output json` prints GET /discoveries."""
    run = await cli("discovery", "list", "--output", "json", role="viewer")
    assert run.code == 0
    assert run.json() == (await api.get("/api/v1/discoveries")).json()
    assert run.json()["total"] == 2


async def test_claim_then_show_and_summary(cli: Cli, reported: list[str]) -> None:
    """Claim prints the new certificate; show and summary reflect it."""
    leaf = reported[0]
    run = await cli("discovery", "claim", leaf, "--environment", "prod", role="operator")
    assert run.code == 0
    assert run.stdout.startswith("claimed: certificate mc-")
    shown = fields((await cli("discovery", "show", leaf, role="viewer")).stdout)
    assert (shown["Status"], shown["Common name"], shown["Serial"]) == ("Claimed", "cli.test", "2a")
    summary = (await cli("discovery", "summary", "--output", "json")).json()
    assert summary["by_status"] == {"Unmanaged": 1, "Claimed": 1, "Dismissed": 0}


async def test_dismiss_requires_a_reason(cli: Cli, reported: list[str]) -> None:
    """Without --reason Typer refuses; with it the discovery is Dismissed."""
    assert (await cli("discovery", "dismiss", reported[1])).code == 2
    run = await cli("discovery", "dismiss", reported[1], "--reason", "root copy")
    assert (run.code, run.stdout.strip()) == (0, f"dismissed {reported[1]}")


async def test_a_viewer_cannot_claim(cli: Cli, reported: list[str]) -> None:
    """403 from the API ends the command with status 1."""
    run = await cli("discovery", "claim", reported[0], role="viewer")
    assert run.code == 1


@pytest.fixture
async def port(issued: Issued) -> AsyncIterator[int]:
    """A TLS server on loopback serving the leaf."""
    async with tls_server(issued) as listening:
        yield listening


async def test_scan_prints_the_endpoint_found(cli: Cli, port: int) -> None:
    """`discovery scan 127.0.0.1 -p PORT` waits for the scan and lists the endpoint."""
    run = await cli("discovery", "scan", "127.0.0.1", "-p", str(port))
    assert run.code == 0, run.stderr
    shown = fields(run.stdout)
    assert (shown["Status"], shown["Endpoints found"]) == ("Completed", "1")
    assert shown["Endpoint"].startswith(f"127.0.0.1:{port} ")


async def test_scan_of_a_slash_19_fails_with_the_field(cli: Cli) -> None:
    """The API's 400 is one line on stderr and exit status 1."""
    run = await cli("discovery", "scan", "10.0.0.0/19")
    assert (run.code, run.stderr) == (
        1,
        "error: Invalid request (HTTP 400): 10.0.0.0/19 has 8192 addresses; a scan target "
        "may be at most a /20 (4096 addresses)\n",
    )


async def test_drift_list_without_drift(cli: Cli) -> None:
    """No drift: one line says so; JSON is an empty list."""
    run = await cli("drift", "list")
    assert (run.code, run.stdout.strip()) == (0, "no drift")
    assert (await cli("drift", "list", "--output", "json")).json() == []
    assert rows(run.stdout) == []
