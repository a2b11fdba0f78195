"""Fixtures of the agent protocol tests: a server with a bootstrap token, agents, a flow."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.pki.csr import make_csr
from certctl.settings import Settings

BOOTSTRAP_TOKEN = "agent-bootstrap-token-for-tests"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings plus an agent bootstrap token."""
    return settings.model_copy(update={"agent_bootstrap_token": SecretStr(BOOTSTRAP_TOKEN)})


@dataclass
class AgentHandle:
    """A registered agent: its id and an HTTP client carrying its credential."""

    id: str
    credential: str
    http: httpx.AsyncClient

    def path(self, tail: str = "") -> str:
        """The agent's protocol path."""
        return f"/api/v1/agents/{self.id}{tail}"


Register = Callable[..., Awaitable[AgentHandle]]


@pytest.fixture
async def register(ctx: AppContext) -> AsyncIterator[Register]:
    """Register an agent with the bootstrap token and return its handle."""
    app = create_app(ctx)
    clients: list[httpx.AsyncClient] = []

    def client(bearer: str) -> httpx.AsyncClient:
        made = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://certctl.test",
            headers={"Authorization": f"Bearer {bearer}"},
        )
        clients.append(made)
        return made

    async def make(name: str = "web-01", hostname: str = "web-01.example") -> AgentHandle:
        answer = await client(BOOTSTRAP_TOKEN).post(
            "/api/v1/agents", json={"name": name, "hostname": hostname, "version": "1.0"}
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        return AgentHandle(body["agent_id"], body["credential"], client(body["credential"]))

    yield make
    for made in clients:
        await made.aclose()


@dataclass
class Deployable:
    """A certificate on the local CA mapped to a target of one agent."""

    cert_id: str
    target_id: str


async def deployable(api: httpx.AsyncClient, agent: AgentHandle, name: str = "web") -> Deployable:
    """A local CA issuer, an NGINX target of `agent` and a certificate mapped to it."""
    issuer = await api.post("/api/v1/issuers", json={"name": f"CA {name}", "type": "GenericCA"})
    assert issuer.status_code == 201, issuer.text
    target = await api.post(
        "/api/v1/targets", json={"name": f"nginx {name}", "type": "NGINX", "agent_id": agent.id}
    )
    assert target.status_code == 201, target.text
    cert = await api.post(
        "/api/v1/certificates",
        json={
            "name": name,
            "common_name": f"{name}.example.com",
            "sans": [f"{name}.example.com"],
            "issuer_id": issuer.json()["id"],
            "target_ids": [target.json()["id"]],
        },
    )
    assert cert.status_code == 201, cert.text
    return Deployable(cert.json()["id"], target.json()["id"])


async def awaiting_csr(api: httpx.AsyncClient, ctx: AppContext, cert_id: str) -> str:
    """Request a renewal and run the processor: the job waits for the agent's CSR."""
    job = await api.post(f"/api/v1/certificates/{cert_id}/renew")
    assert job.status_code == 202, job.text
    await ctx.jobs.process_due()
    return str(job.json()["id"])


def csr_for(common_name: str) -> str:
    """A P-256 CSR for one name."""
    csr_pem, _key = make_csr(common_name, (common_name,), "ECDSA-P256")
    return csr_pem


async def issued_and_deploying(
    api: httpx.AsyncClient, ctx: AppContext, agent: AgentHandle, name: str = "web"
) -> tuple[Deployable, dict[str, Any]]:
    """A certificate issued from the agent's CSR whose deployment the agent has claimed."""
    mapped = await deployable(api, agent, name)
    job_id = await awaiting_csr(api, ctx, mapped.cert_id)
    issued = await agent.http.post(
        agent.path("/csr"), json={"job_id": job_id, "csr_pem": csr_for(f"{name}.example.com")}
    )
    assert issued.status_code == 200, issued.text
    work = (await agent.http.get(agent.path("/work"))).json()
    assert len(work["deployments"]) == 1, work
    return mapped, work["deployments"][0]
