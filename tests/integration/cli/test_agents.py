"""`certctl agents …`: list and retire."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.inventory import Agent, AgentStatus

from .conftest import Cli, fields, rows


@pytest.fixture
async def agent(ctx: AppContext, clock: FrozenClock) -> Agent:
    """An online agent whose last heartbeat was three minutes ago."""
    now = clock.now()
    registered = Agent(
        id="ag-edge-1",
        name="edge-1",
        created_at=now - timedelta(days=3),
        updated_at=now,
        hostname="edge-1.example.com",
        version="1.4.0",
        status=AgentStatus.ONLINE,
        last_heartbeat_at=now - timedelta(minutes=3),
    )
    async with ctx.runtime.db.uow() as uow:
        await uow.agents.add(registered)
    return registered


async def test_list_json_and_table(cli: Cli, api: httpx.AsyncClient, agent: Agent) -> None:
    """The JSON is the API's page; the table shows status and `3 min ago`."""
    as_json = await cli("agents", "list", "--output", "json", role="viewer")
    assert as_json.json() == (await api.get("/api/v1/agents")).json()
    table = await cli("agents", "list", role="viewer")
    assert rows(table.stdout) == [
        ["ag-edge-1", "edge-1", "edge-1.example.com", "Online", "1.4.0", "3 min ago"]
    ]


async def test_list_filters_reach_the_api(cli: Cli, agent: Agent) -> None:
    """--status and --q select agents."""
    online = await cli("agents", "list", "--status", "Online", "--q", "edge", "--output", "json")
    offline = await cli("agents", "list", "--status", "Offline", "--output", "json")
    assert (online.json()["total"], offline.json()["total"]) == (1, 0)


async def test_retire_records_the_reason(cli: Cli, api: httpx.AsyncClient, agent: Agent) -> None:
    """`agents retire ID --reason` answers the retired agent."""
    run = await cli(
        "agents", "retire", agent.id, "--reason", "host decommissioned", "--output", "json"
    )
    assert run.code == 0, run.stderr
    assert (run.json()["retired_reason"], run.json()["status"]) == (
        "host decommissioned",
        "Offline",
    )
    assert run.json() == (await api.get(f"/api/v1/agents/{agent.id}")).json()


async def test_retire_table_and_second_retire(cli: Cli, agent: Agent) -> None:
    """The table shows when and why; retiring again is the API's 409."""
    first = await cli("agents", "retire", agent.id, "--reason", "moved")
    shown = fields(first.stdout)
    assert (shown["Retired"], shown["Retired because"]) == ("2026-06-01 12:00 UTC (now)", "moved")
    again = await cli("agents", "retire", agent.id, "--reason", "moved")
    assert again.code == 1
    assert again.stderr == "error: Conflict (HTTP 409): agent 'ag-edge-1' is already retired\n"


async def test_retire_needs_a_reason(cli: Cli, agent: Agent) -> None:
    """--reason is required."""
    run = await cli("agents", "retire", agent.id)
    assert run.code == 2
    assert "Missing option '--reason'" in run.stderr
