"""Agent liveness: the health loop marks silent agents Offline and fails their Running jobs."""

from __future__ import annotations

from datetime import timedelta

import httpx

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.scheduler.loops import agent_health

from .conftest import Register, issued_and_deploying


async def test_an_agent_that_missed_three_heartbeats_is_marked_offline(
    register: Register, api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    """At 180 s of silence it is still Online; at 181 s the loop marks it Offline, audited."""
    agent = await register()
    clock.advance(timedelta(seconds=180))
    assert (await agent_health(ctx))["marked_offline"] == 0
    clock.advance(timedelta(seconds=1))
    assert (await agent_health(ctx))["marked_offline"] == 1
    shown = (await api.get(f"/api/v1/agents/{agent.id}")).json()
    assert shown["status"] == "Offline"
    audit = (await api.get("/api/v1/audit", params={"action": "agent_offline"})).json()["data"]
    assert [a["resource_id"] for a in audit] == [agent.id]


async def test_a_running_job_fails_when_its_agent_has_been_offline_five_minutes(
    register: Register, api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    """After 5 min the job is still Running; after 5 min 1 s it is Failed with the reason."""
    agent = await register()
    _, deployment = await issued_and_deploying(api, ctx, agent)
    clock.advance(timedelta(minutes=5))
    assert (await agent_health(ctx))["failed"] == 0
    clock.advance(timedelta(seconds=1))
    summary = await agent_health(ctx)
    assert (summary["failed"], summary["job_ids"]) == (1, [deployment["job_id"]])
    job = (await api.get(f"/api/v1/jobs/{deployment['job_id']}")).json()
    assert (job["status"], job["last_error"]) == (
        "Failed",
        "agent 'web-01' has been offline for more than 5 minutes",
    )
    audit = (await api.get("/api/v1/audit", params={"action": "job_failed"})).json()["data"]
    assert [a["resource_id"] for a in audit] == [deployment["job_id"]]


async def test_a_heartbeat_keeps_a_running_job_alive(
    register: Register, api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    """An agent that keeps heartbeating keeps its Running job past 5 minutes."""
    agent = await register()
    _, deployment = await issued_and_deploying(api, ctx, agent)
    for _ in range(6):
        clock.advance(timedelta(seconds=60))
        assert (await agent.http.post(agent.path("/heartbeat"), json={})).status_code == 200
    assert (await agent_health(ctx))["failed"] == 0
    job = (await api.get(f"/api/v1/jobs/{deployment['job_id']}")).json()
    assert job["status"] == "Running"
