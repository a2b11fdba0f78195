"""End to end with Debian's nginx, Apache and HAProxy: the agent's key, issued, deployed, served.

The agent registers, the local CA issues from the agent's CSR, the agent deploys through the
deploy library and the daemon serves the new leaf; a renewal redeploys and the served leaf
changes; a broken validate command rolls back and the previous leaf stays served.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from certctl.agent.deploy import deploy_with_library
from certctl.agent.main import AgentConfig, AgentLoop
from certctl.agent.state import StateFile
from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.client.agent import AgentClient
from certctl.clock import FrozenClock
from certctl.connectors.tlsprobe import probe
from certctl.testing import daemons
from certctl.testing.tlscerts import OpensslCA

from .test_agent_process import FACTS, URL, StopAfter, _rows_containing

NAME = "web.example.com"


@pytest.fixture(params=["nginx", "apache", "haproxy"])
def daemon(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[daemons.Daemon]:
    """A daemon serving a first certificate from another CA, to be replaced by the agent."""
    first = OpensslCA(tmp_path / "ca").issue(NAME)
    workdir = tmp_path / request.param
    if request.param == "nginx":
        running = daemons.start_nginx(workdir, cert_pem=first.fullchain_pem, key_pem=first.key_pem)
    elif request.param == "apache":
        running = daemons.start_apache(workdir, cert_pem=first.fullchain_pem, key_pem=first.key_pem)
    else:
        running = daemons.start_haproxy(workdir, pem=first.combined_pem)
    try:
        yield running
    finally:
        daemons.stop(running)


TYPES = {"nginx": "NGINX", "apache": "Apache", "haproxy": "HAProxy"}


@pytest.fixture
async def client(ctx: AppContext) -> AsyncIterator[AgentClient]:
    """An agent client over the real app."""
    async with AgentClient(URL, transport=httpx.ASGITransport(app=create_app(ctx))) as made:
        yield made


class Host:
    """The agent's host: runs the agent loop for a few ticks under the frozen clock."""

    def __init__(self, tmp_path: Path, client: AgentClient, clock: FrozenClock) -> None:
        self.tmp_path = tmp_path
        self.client = client
        self.clock = clock

    async def run(self, ticks: int) -> None:
        """Run the agent until it has waited `ticks` times."""
        config = AgentConfig(
            server_url=URL,
            name="web-host",
            key_dir=self.tmp_path / "agent" / "keys",
            state_dir=self.tmp_path / "agent",
            bootstrap_token="agent-bootstrap-token-for-tests",
        )
        sleeper = StopAfter(self.clock, ticks)
        loop = AgentLoop(
            config, self.client, deploy_with_library, clock=self.clock, sleep=sleeper, facts=FACTS
        )
        sleeper.loop = loop
        assert await loop.run() == 0

    def agent_id(self) -> str:
        """The registered agent's id."""
        identity = StateFile(self.tmp_path / "agent").load(URL)
        assert identity is not None
        return identity.agent_id


async def _served(daemon: daemons.Daemon, expected: str) -> str:
    """The leaf the daemon serves once its reload has settled.

    A graceful reload lets old workers accept a few more connections with the previous
    certificate, so one probe may still see it; probe until `expected` shows or 5 s pass.
    """
    served = ""
    for _ in range(50):
        served = (await probe("127.0.0.1", daemon.port, server_name=NAME)).leaf_sha256
        if served == expected:
            break
        await asyncio.sleep(0.1)  # waiting on the daemon's workers, not on the clock
    return served


async def _renew_and_deploy(
    api: httpx.AsyncClient, ctx: AppContext, host: Host, cert_id: str
) -> Any:
    """A day later, renew, let the agent post its CSR and deploy; the newest Deployment job."""
    host.clock.advance(timedelta(days=1))
    assert (await api.post(f"/api/v1/certificates/{cert_id}/renew")).status_code == 202
    await ctx.jobs.process_due()
    await host.run(2)  # first tick: key + CSR; second tick: the deployment
    jobs = (
        await api.get("/api/v1/jobs", params={"type": "Deployment", "sort": "-created_at"})
    ).json()["data"]
    return jobs[0]


async def _current_fingerprint(api: httpx.AsyncClient, cert_id: str) -> str:
    versions = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    return str(versions[0]["fingerprint_sha256"])


async def test_the_agent_deploys_renews_and_rolls_back_on_a_real_daemon(
    daemon: daemons.Daemon,
    tmp_path: Path,
    ctx: AppContext,
    api: httpx.AsyncClient,
    client: AgentClient,
    clock: FrozenClock,
) -> None:
    """Served leaf = issued version; a renewal changes it; a failing validate keeps the old one."""
    host = Host(tmp_path, client, clock)
    await host.run(1)
    issuer = (await api.post("/api/v1/issuers", json={"name": "CA", "type": "GenericCA"})).json()
    target = await api.post(
        "/api/v1/targets",
        json={
            "name": daemon.name,
            "type": TYPES[daemon.name],
            "agent_id": host.agent_id(),
            "config": daemon.target_config(verify_server_name=NAME),
        },
    )
    assert target.status_code == 201, target.text
    cert = (
        await api.post(
            "/api/v1/certificates",
            json={
                "name": "web",
                "common_name": NAME,
                "sans": [NAME],
                "issuer_id": issuer["id"],
                "target_ids": [target.json()["id"]],
            },
        )
    ).json()

    first_job = await _renew_and_deploy(api, ctx, host, cert["id"])
    first = await _current_fingerprint(api, cert["id"])
    assert (first_job["status"], first_job["last_error"]) == ("Completed", None), daemon.log()
    assert await _served(daemon, first) == first

    second_job = await _renew_and_deploy(api, ctx, host, cert["id"])
    second = await _current_fingerprint(api, cert["id"])
    assert second_job["status"] == "Completed", second_job["last_error"]
    assert second != first
    assert await _served(daemon, second) == second

    broken = daemon.target_config(verify_server_name=NAME, validate_command=["/usr/bin/false"])
    patched = await api.patch(f"/api/v1/targets/{target.json()['id']}", json={"config": broken})
    assert patched.status_code == 200, patched.text
    third_job = await _renew_and_deploy(api, ctx, host, cert["id"])
    assert third_job["status"] == "Failed"
    assert third_job["last_error"].endswith("(rolled back)"), third_job["last_error"]
    assert await _served(daemon, second) == second
    assert len(list((tmp_path / "agent" / "keys").iterdir())) == 3
    assert await _rows_containing(ctx, "PRIVATE KEY") == []
