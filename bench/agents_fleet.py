"""The simulated agent fleet of bench/agents.py: registration, COPY seeding, the load generator.

Each load-generator process drives its share of the agents on an open-loop schedule (every
agent's heartbeat and work poll at its own interval, first ones spread over the interval),
with aiohttp on uvloop and one pool of keep-alive connections per process.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

import harness

BOOTSTRAP_TOKEN = "bench-bootstrap-token-0123456789abcdef"
PREFIX = "/api/v1/agents"
HEARTBEAT, WORK = "heartbeat", "work"
REQUEST_TIMEOUT = 10.0

# --------------------------------------------------------------------------- registration


def facts(index: int) -> dict[str, Any]:
    """What agent `index` says about its host."""
    return {
        "version": "bench",
        "hostname": f"host-{index:05d}.bench.example",
        "os": "linux",
        "arch": "x86_64",
        "addresses": [f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"],
    }


async def register_all(base_url: str, count: int, concurrency: int) -> list[tuple[str, str]]:
    """Register `count` agents through the API with the bootstrap token: (id, credential)."""
    agents: list[tuple[str, str] | None] = [None] * count
    indices = iter(range(count))
    headers = {"Authorization": f"Bearer {BOOTSTRAP_TOKEN}"}
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base_url, headers=headers, timeout=timeout) as session:

        async def registrar() -> None:
            for index in indices:
                body = {"name": f"bench-agent-{index:05d}", **facts(index)}
                async with session.post(PREFIX, json=body) as response:
                    if response.status != 201:
                        text = await response.text()
                        raise RuntimeError(f"registration answered {response.status}: {text}")
                    answer = await response.json()
                agents[index] = (answer["agent_id"], answer["credential"])

        await asyncio.gather(*(registrar() for _ in range(concurrency)))
    return [a for a in agents if a is not None]


AGENT_COLUMNS = (
    "id", "name", "hostname", "os", "arch", "ip_address", "version", "status",
    "last_heartbeat_at", "credential_hash", "addresses", "created_at", "updated_at",
)  # fmt: skip


async def seed_agents(url: str, first: int, count: int) -> list[tuple[str, str]]:
    """Agents `first`.. written by COPY as registration writes them (without its audit rows):
    the same columns, a fresh credential each and only its SHA-256 stored."""
    from certctl.domain.access import hash_api_key
    from certctl.domain.agents import generate_credential
    from certctl.domain.ids import new_id

    now = datetime.now(UTC)
    agents, rows = [], []
    for index in range(first, first + count):
        agent_id, credential = new_id("agent", now), generate_credential()
        f = facts(index)
        rows.append(
            (agent_id, f"bench-agent-{index:05d}", f["hostname"], f["os"], f["arch"],
             f["addresses"][0], f["version"], "Online", now, hash_api_key(credential),
             json.dumps(f["addresses"]), now, now)
        )  # fmt: skip
        agents.append((agent_id, credential))
    await harness.copy_tables(url, [("agents", AGENT_COLUMNS, rows)], after="ANALYZE agents")
    return agents


# --------------------------------------------------------------------------- load generator


@dataclass(frozen=True)
class Fleet:
    """One load generator's share of the agents and the schedule they follow."""

    base_url: str
    agents: list[tuple[str, str]]  # (agent id, credential)
    first_index: int
    heartbeat_interval: float
    poll_interval: float
    connections: int
    max_in_flight: int
    seed: int


def schedule(fleet: Fleet, window: harness.Window) -> list[tuple[float, str, int]]:
    """(due time, route, agent) for every request of the run, in time order."""
    rng = random.Random(fleet.seed)
    events = []
    for agent in range(len(fleet.agents)):
        for route, period in ((HEARTBEAT, fleet.heartbeat_interval), (WORK, fleet.poll_interval)):
            if period == 0:  # this route left out
                continue
            due = window.go + rng.uniform(0, period)
            while due < window.end:
                events.append((due, route, agent))
                due += period
    events.sort()
    return events


async def open_session(fleet: Fleet) -> aiohttp.ClientSession:
    """Untimed: the client's session with its keep-alive pool."""
    connector = aiohttp.TCPConnector(limit=fleet.connections, keepalive_timeout=4.0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    return aiohttp.ClientSession(fleet.base_url, connector=connector, timeout=timeout)


async def drive(fleet: Fleet, session: aiohttp.ClientSession, window: harness.Window) -> dict:
    """Send every scheduled request; latencies (s) and status codes per route, and client CPU."""
    latencies: dict[str, list[float]] = {HEARTBEAT: [], WORK: []}
    codes: dict[str, Counter[str]] = {HEARTBEAT: Counter(), WORK: Counter()}
    bodies = [json.dumps(facts(fleet.first_index + i)).encode() for i in range(len(fleet.agents))]
    last_done = 0.0

    async def send(route: str, agent: int) -> str:
        agent_id, credential = fleet.agents[agent]
        headers = {"Authorization": f"Bearer {credential}"}
        if route == HEARTBEAT:
            headers["Content-Type"] = "application/json"
            request = session.post(
                f"{PREFIX}/{agent_id}/heartbeat", data=bodies[agent], headers=headers
            )
        else:
            request = session.get(f"{PREFIX}/{agent_id}/work", headers=headers)
        async with request as response:
            await response.read()
            return str(response.status)

    async def timed(route: str, agent: int, due: float) -> None:
        nonlocal last_done
        try:
            code = await send(route, agent)
        except (aiohttp.ClientError, *harness.TRANSPORT_ERRORS) as exc:
            code = f"error:{type(exc).__name__}"
        done = time.monotonic()
        if due >= window.measure:
            codes[route][code] += 1
            latencies[route].append(done - due)
            last_done = max(last_done, done)

    pending: set[asyncio.Task[None]] = set()
    cpu_start: float | None = None
    try:
        for due, route, agent in schedule(fleet, window):
            await harness.sleep_until(due)
            if cpu_start is None and due >= window.measure:
                cpu_start = time.process_time()
            if len(pending) >= fleet.max_in_flight:
                if due >= window.measure:
                    codes[route]["not-sent:in-flight-cap"] += 1
                continue
            task = asyncio.ensure_future(timed(route, agent, due))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending)
    finally:
        await session.close()
    cpu = time.process_time() - (cpu_start if cpu_start is not None else time.process_time())
    return {"latencies": latencies, "codes": codes, "last_done": last_done, "cpu_s": cpu}
