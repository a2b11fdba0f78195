"""The heartbeat and the work poll in one statement each (C13): refusals and audit unchanged."""

from __future__ import annotations

from datetime import timedelta

import httpx

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.agents import HeartbeatFacts
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest
from certctl.testing.queries import driver_queries, transaction_control

from .conftest import Register, issued_and_deploying


async def _refusals(ctx: AppContext) -> list[tuple[str, str]]:
    page = await ctx.audit.search(
        SYSTEM_CALLER, request=PageRequest(per_page=100), filters=AuditFilter(resource_type="agent")
    )
    return sorted((e.action, e.actor) for e in page.items if e.action.endswith("_failed"))


async def test_a_heartbeat_on_another_agents_path_is_403_and_writes_nothing(
    register: Register, ctx: AppContext, clock: FrozenClock
) -> None:
    """403, and neither agent's last heartbeat moves."""
    owner = await register()
    other = await register("db-01", "db-01.example")
    async with ctx.runtime.db.uow() as uow:
        before = [await uow.agents.require(a.id) for a in (owner, other)]
    clock.advance(timedelta(seconds=60))
    answer = await other.http.post(owner.path("/heartbeat"), json={"version": "9"})
    assert answer.status_code == 403
    async with ctx.runtime.db.uow() as uow:
        after = [await uow.agents.require(a.id) for a in (owner, other)]
    assert after == before


async def test_an_unknown_credential_is_401_on_both_hot_routes(
    register: Register, ctx: AppContext
) -> None:
    """A credential no agent holds answers 401 to the heartbeat and to the poll."""
    agent = await register()
    headers = {"Authorization": "Bearer not-a-credential"}
    beat = await agent.http.post(agent.path("/heartbeat"), json={}, headers=headers)
    poll = await agent.http.get(agent.path("/work"), headers=headers)
    assert (beat.status_code, poll.status_code) == (401, 401)


async def test_a_malformed_heartbeat_of_a_valid_agent_is_audited_as_before(
    register: Register, ctx: AppContext
) -> None:
    """400, and one agent_create_failed row naming the agent, as when it authenticated first."""
    agent = await register()
    answer = await agent.http.post(agent.path("/heartbeat"), json={"version": 5})
    assert answer.status_code == 400
    assert await _refusals(ctx) == [("agent_create_failed", "agent:web-01")]


async def test_a_malformed_heartbeat_with_an_unknown_credential_is_not_audited(
    register: Register, ctx: AppContext
) -> None:
    """No caller, no refusal row."""
    agent = await register()
    headers = {"Authorization": "Bearer not-a-credential"}
    answer = await agent.http.post(agent.path("/heartbeat"), json={"version": 5}, headers=headers)
    assert answer.status_code == 400
    assert await _refusals(ctx) == []


async def test_the_heartbeat_statement_refuses_a_retired_agent(
    register: Register, api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """The repository's UPDATE matches nothing once the agent is retired."""
    agent = await register()
    assert (
        await api.post(f"/api/v1/agents/{agent.id}/retire", json={"reason": "gone"})
    ).status_code == 200
    async with ctx.runtime.db.uow() as uow:
        found = await uow.agents.heartbeat(
            agent_id=agent.id,
            credential_hash=(await uow.agents.require(agent.id)).credential_hash or "",
            facts=HeartbeatFacts(version="2"),
            now=ctx.clock.now(),
        )
    assert found is None


async def test_the_poll_probe_sees_due_work_and_its_absence(
    register: Register, api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """No job → False; a Running deployment leased to the agent → True."""
    agent = await register()
    other = await register("db-01", "db-01.example")
    await issued_and_deploying(api, ctx, agent)
    async with ctx.runtime.db.uow() as uow:
        stored = [await uow.agents.require(a.id) for a in (agent, other)]
        flags = [await uow.agents.with_work_flag(a.credential_hash or "") for a in stored]
    assert [(f[0].id, f[1]) if f else None for f in flags] == [(agent.id, True), (other.id, False)]


async def test_the_heartbeat_and_the_poll_send_no_begin_or_commit_on_postgresql(
    register: Register, ctx: AppContext
) -> None:
    """Each is one statement run as its own transaction on PostgreSQL (SQLite, which has no
    round trips to spare, keeps its transaction); the heartbeat is stored all the same."""
    agent = await register()
    with driver_queries(ctx.runtime.db) as seen:
        beat = await agent.http.post(agent.path("/heartbeat"), json={"version": "7.1"})
        poll = await agent.http.get(agent.path("/work"))
    assert (beat.status_code, poll.status_code) == (200, 200)
    async with ctx.runtime.db.uow() as uow:
        assert (await uow.agents.require(agent.id)).version == "7.1"
    assert transaction_control(seen) == []
