"""The agent loop against the real app: registration, reuse, backoff, retirement, keys (C7)."""

from __future__ import annotations

import hashlib
import socket
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from certctl.agent.main import AgentConfig, AgentLoop
from certctl.agent.state import AgentIdentity, StateFile
from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.client.agent import AgentClient, HostFacts
from certctl.clock import FrozenClock
from certctl.domain.inventory import TargetType
from certctl.pki.facts import first_certificate_der

from .conftest import BOOTSTRAP_TOKEN, awaiting_csr, deployable

FACTS = HostFacts(
    version="1.0", hostname="web-01.example", os="linux", arch="x86_64", addresses=["192.0.2.7"]
)
URL = "http://certctl.test"


class StopAfter:
    """A sleeper that advances the frozen clock, records each wait and stops after `n`."""

    def __init__(self, clock: FrozenClock, n: int) -> None:
        self.clock = clock
        self.n = n
        self.waits: list[float] = []
        self.loop: AgentLoop | None = None

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))
        if len(self.waits) >= self.n and self.loop is not None:
            self.loop.stop()


class FileDeployer:
    """Writes leaf+chain and key to a directory and answers the leaf's SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls: list[str] = []
        self.on_call: Callable[[], None] | None = None
        self.meanwhile: Callable[[], Awaitable[object]] | None = None

    async def __call__(
        self,
        target_type: TargetType,
        config: Mapping[str, Any],
        *,
        cert_pem: str,
        chain_pem: str,
        key_pem: str,
        backup_dir: Path,
    ) -> str | None:
        self.calls.append(target_type.value)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "fullchain.pem").write_text(cert_pem + chain_pem)
        (self.root / "key.pem").write_text(key_pem)
        if self.on_call is not None:
            self.on_call()
        if self.meanwhile is not None:
            await self.meanwhile()
        return hashlib.sha256(first_certificate_der(cert_pem)).hexdigest()


@pytest.fixture
async def client(ctx: AppContext) -> AsyncIterator[AgentClient]:
    """An agent client over the real app."""
    async with AgentClient(URL, transport=httpx.ASGITransport(app=create_app(ctx))) as made:
        yield made


def make_loop(
    tmp_path: Path,
    client: AgentClient,
    clock: FrozenClock,
    sleeper: StopAfter,
    deployer: FileDeployer | None = None,
    token: str | None = BOOTSTRAP_TOKEN,
    url: str = URL,
) -> AgentLoop:
    """An agent loop with its state and keys under tmp_path."""
    config = AgentConfig(
        server_url=url,
        name="web-01",
        key_dir=tmp_path / "keys",
        state_dir=tmp_path / "state",
        bootstrap_token=token,
    )
    loop = AgentLoop(
        config,
        client,
        deployer or FileDeployer(tmp_path / "deployed"),
        clock=clock,
        sleep=sleeper,
        facts=FACTS,
    )
    sleeper.loop = loop
    return loop


async def test_the_first_start_registers_and_a_restart_reuses_the_credential(
    tmp_path: Path, ctx: AppContext, client: AgentClient, clock: FrozenClock
) -> None:
    """One agent row, one registration audit row; the state file is 0600 in a 0700 dir."""
    assert await make_loop(tmp_path, client, clock, StopAfter(clock, 1)).run() == 0
    state = tmp_path / "state" / "agent.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    first = StateFile(tmp_path / "state").load(URL)
    assert first is not None
    restarted = make_loop(tmp_path, client, clock, StopAfter(clock, 1), token=None)
    assert await restarted.run() == 0
    assert StateFile(tmp_path / "state").load(URL) == first
    async with ctx.runtime.db.uow() as uow:
        agents = await uow.agents.count_by("name")
        stored = await uow.agents.require(first.agent_id)
    assert agents == {"web-01": 1}
    assert stored.credential_hash == hashlib.sha256(first.credential.encode()).hexdigest()
    assert stored.hostname == "web-01.example"


async def test_a_retired_agent_exits_zero(
    tmp_path: Path, api: httpx.AsyncClient, client: AgentClient, clock: FrozenClock
) -> None:
    """The next heartbeat answers 410 and run() returns 0 without sleeping."""
    await make_loop(tmp_path, client, clock, StopAfter(clock, 1)).run()
    identity = StateFile(tmp_path / "state").load(URL)
    assert identity is not None
    await api.post(f"/api/v1/agents/{identity.agent_id}/retire", json={"reason": "gone"})
    sleeper = StopAfter(clock, 100)
    assert await make_loop(tmp_path, client, clock, sleeper).run() == 0
    assert sleeper.waits == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_failed_calls_back_off_doubling_up_to_five_minutes(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """An unreachable server: waits of 60, 120, 240, 300 and 300 s, exactly."""
    url = f"http://127.0.0.1:{_closed_port()}"
    StateFile(tmp_path / "state").save(AgentIdentity(url, "agent-x", "cca_secret"))
    sleeper = StopAfter(clock, 5)
    async with AgentClient(url, timeout=2) as down:
        assert await make_loop(tmp_path, down, clock, sleeper, url=url).run() == 0
    assert sleeper.waits == [60, 120, 240, 300, 300]


async def test_a_healthy_agent_heartbeats_every_60_s_and_polls_every_30_s(
    tmp_path: Path, ctx: AppContext, client: AgentClient, clock: FrozenClock
) -> None:
    """Waits of 30 s; heartbeats at 0 and 60 s, so the last one is 60 s after the start."""
    start = clock.now()
    sleeper = StopAfter(clock, 4)
    assert await make_loop(tmp_path, client, clock, sleeper).run() == 0
    assert sleeper.waits == [30, 30, 30, 30]
    identity = StateFile(tmp_path / "state").load(URL)
    assert identity is not None
    async with ctx.runtime.db.uow() as uow:
        agent = await uow.agents.require(identity.agent_id)
    assert agent.last_heartbeat_at == start + timedelta(seconds=60)


async def test_the_key_stays_in_the_key_dir_through_issuance_and_deployment(
    tmp_path: Path, ctx: AppContext, api: httpx.AsyncClient, client: AgentClient, clock: FrozenClock
) -> None:
    """Key 0600 in the key dir, deployed with its certificate; no PRIVATE KEY in the database."""
    loop = make_loop(tmp_path, client, clock, StopAfter(clock, 1))
    await loop.run()
    identity = StateFile(tmp_path / "state").load(URL)
    assert identity is not None
    handle = type("H", (), {"id": identity.agent_id})()
    mapped = await deployable(api, handle)  # type: ignore[arg-type]
    await awaiting_csr(api, ctx, mapped.cert_id)
    deployer = FileDeployer(tmp_path / "deployed")
    sleeper = StopAfter(clock, 2)
    await make_loop(tmp_path, client, clock, sleeper, deployer=deployer).run()
    keys = list((tmp_path / "keys").iterdir())
    assert len(keys) == 1
    assert stat.S_IMODE(keys[0].stat().st_mode) == 0o600
    assert (tmp_path / "deployed" / "key.pem").read_text() == keys[0].read_text()
    assert deployer.calls == ["NGINX"]
    jobs = (await api.get("/api/v1/jobs", params={"type": "Deployment"})).json()["data"]
    assert [(j["status"], j["agent_id"]) for j in jobs] == [("Completed", identity.agent_id)]
    assert await _rows_containing(ctx, "PRIVATE KEY") == []


async def _rows_containing(ctx: AppContext, needle: str) -> list[str]:
    """Tables with a row whose text contains `needle`."""
    found: list[str] = []
    async with ctx.runtime.db.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        for name in names:
            rows = (await conn.execute(sa.text(f'SELECT * FROM "{name}"'))).all()
            if any(needle in str(tuple(row)) for row in rows):
                found.append(name)
    return found


async def test_a_stop_during_a_job_finishes_that_job_then_exits_zero(
    tmp_path: Path, ctx: AppContext, api: httpx.AsyncClient, client: AgentClient, clock: FrozenClock
) -> None:
    """SIGTERM mid-deployment: the deployment is reported Completed, the loop returns 0."""
    await make_loop(tmp_path, client, clock, StopAfter(clock, 1)).run()
    identity = StateFile(tmp_path / "state").load(URL)
    assert identity is not None
    handle = type("H", (), {"id": identity.agent_id})()
    mapped = await deployable(api, handle)  # type: ignore[arg-type]
    await awaiting_csr(api, ctx, mapped.cert_id)
    await make_loop(tmp_path, client, clock, StopAfter(clock, 1)).run()  # the CSR
    deployer = FileDeployer(tmp_path / "deployed")
    sleeper = StopAfter(clock, 100)
    loop = make_loop(tmp_path, client, clock, sleeper, deployer=deployer)
    deployer.on_call = loop.stop
    assert await loop.run() == 0
    assert sleeper.waits == []
    jobs = (await api.get("/api/v1/jobs", params={"type": "Deployment"})).json()["data"]
    assert [j["status"] for j in jobs] == ["Completed"]


async def test_a_job_cancelled_during_its_deployment_does_not_back_the_agent_off(
    tmp_path: Path, ctx: AppContext, api: httpx.AsyncClient, client: AgentClient, clock: FrozenClock
) -> None:
    """The report's 409 is logged; the job stays Cancelled and the next poll is 30 s later."""
    await make_loop(tmp_path, client, clock, StopAfter(clock, 1)).run()
    identity = StateFile(tmp_path / "state").load(URL)
    assert identity is not None
    handle = type("H", (), {"id": identity.agent_id})()
    mapped = await deployable(api, handle)  # type: ignore[arg-type]
    await awaiting_csr(api, ctx, mapped.cert_id)
    await make_loop(tmp_path, client, clock, StopAfter(clock, 1)).run()  # the CSR
    deployer = FileDeployer(tmp_path / "deployed")
    jobs = (await api.get("/api/v1/jobs", params={"type": "Deployment"})).json()["data"]
    deployer.meanwhile = lambda: api.post(f"/api/v1/jobs/{jobs[0]['id']}/cancel", json={})
    sleeper = StopAfter(clock, 1)
    assert await make_loop(tmp_path, client, clock, sleeper, deployer=deployer).run() == 0
    assert sleeper.waits == [30.0]
    job = (await api.get(f"/api/v1/jobs/{jobs[0]['id']}")).json()
    assert job["status"] == "Cancelled"
