"""The agent protocol over the real app: registration, heartbeat, work, CSR, reports (C7)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import httpx

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock

from .conftest import (
    BOOTSTRAP_TOKEN,
    Register,
    awaiting_csr,
    csr_for,
    deployable,
    issued_and_deploying,
)


async def test_registration_returns_a_credential_the_server_keeps_only_hashed(
    register: Register, ctx: AppContext
) -> None:
    """The credential works once returned, and the database holds its SHA-256 only."""
    agent = await register()
    async with ctx.runtime.db.uow() as uow:
        stored = await uow.agents.require(agent.id)
    assert stored.credential_hash == hashlib.sha256(agent.credential.encode()).hexdigest()
    assert (stored.name, stored.hostname, stored.status.value) == (
        "web-01",
        "web-01.example",
        "Online",
    )
    assert (await agent.http.get(agent.path("/work"))).status_code == 200


async def test_a_wrong_bootstrap_token_is_refused(
    make_client: Callable[[str | None], httpx.AsyncClient], ctx: AppContext
) -> None:
    """401 problem and no agent row."""
    answer = await make_client(None).post(
        "/api/v1/agents",
        json={"name": "intruder"},
        headers={"Authorization": "Bearer not-the-token-at-all"},
    )
    assert answer.status_code == 401
    assert answer.json()["detail"] == "the bootstrap token is not valid"
    async with ctx.runtime.db.uow() as uow:
        assert await uow.agents.active_by_name("intruder") is None


async def test_the_same_name_from_the_same_host_takes_its_agent_back(register: Register) -> None:
    """Same id, a new credential; the old credential stops working (401)."""
    first = await register()
    second = await register()
    assert second.id == first.id
    assert second.credential != first.credential
    assert (await first.http.get(first.path("/work"))).status_code == 401
    assert (await second.http.get(second.path("/work"))).status_code == 200


async def test_the_same_name_from_another_host_is_a_conflict(register: Register) -> None:
    """409 naming the registered host."""
    await register()
    transport_agent = await register("db-01", "db-01.example")
    answer = await transport_agent.http.post(
        "/api/v1/agents",
        json={"name": "web-01", "hostname": "elsewhere"},
        headers={"Authorization": f"Bearer {BOOTSTRAP_TOKEN}"},
    )
    assert answer.status_code == 409
    assert "'web-01.example'" in answer.json()["detail"]


async def test_a_heartbeat_records_the_host_facts(
    register: Register, ctx: AppContext, clock: FrozenClock
) -> None:
    """Online, last_heartbeat_at = now, version/OS/arch/addresses stored."""
    agent = await register()
    clock.advance(timedelta(seconds=90))
    answer = await agent.http.post(
        agent.path("/heartbeat"),
        json={
            "version": "2.0",
            "hostname": "web-01.example",
            "os": "linux",
            "arch": "x86_64",
            "addresses": ["192.0.2.10", "2001:db8::10"],
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "Online"
    async with ctx.runtime.db.uow() as uow:
        stored = await uow.agents.require(agent.id)
    assert (stored.version, stored.os, stored.arch, stored.addresses, stored.ip_address) == (
        "2.0",
        "linux",
        "x86_64",
        ("192.0.2.10", "2001:db8::10"),
        "192.0.2.10",
    )
    assert stored.last_heartbeat_at == ctx.clock.now()


async def test_a_bad_heartbeat_address_is_a_problem_naming_the_field(register: Register) -> None:
    """400 on addresses[0]."""
    agent = await register()
    answer = await agent.http.post(agent.path("/heartbeat"), json={"addresses": ["nope"]})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "addresses[0]"


async def test_the_agent_of_the_first_target_gets_the_csr_job_with_the_profile_key(
    register: Register, api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """The AwaitingCSR job is assigned to the target's agent with CN, SANs and ECDSA-P256."""
    agent = await register()
    mapped = await deployable(api, agent)
    job_id = await awaiting_csr(api, ctx, mapped.cert_id)
    work = (await agent.http.get(agent.path("/work"))).json()
    assert work == {
        "csr_jobs": [
            {
                "job_id": job_id,
                "certificate_id": mapped.cert_id,
                "common_name": "web.example.com",
                "sans": ["web.example.com"],
                "key_spec": "ECDSA-P256",
            }
        ],
        "deployments": [],
    }
    again = (await agent.http.get(agent.path("/work"))).json()
    assert again == {"csr_jobs": [], "deployments": []}


async def test_a_csr_issues_and_queues_the_deployment_the_agent_then_completes(
    register: Register, api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """CSR → version → Running deployment with the target → chain without key → Completed."""
    agent = await register()
    mapped, deployment = await issued_and_deploying(api, ctx, agent)
    assert (deployment["target_id"], deployment["target_type"]) == (mapped.target_id, "NGINX")
    cert = (await agent.http.get(agent.path(f"/certificates/{mapped.cert_id}"))).json()
    assert cert["fingerprint_sha256"] == deployment["fingerprint_sha256"]
    assert cert["cert_pem"].count("BEGIN CERTIFICATE") == 1
    assert cert["chain_pem"].count("BEGIN CERTIFICATE") == 1
    assert "PRIVATE KEY" not in str(cert)
    job = (await api.get(f"/api/v1/jobs/{deployment['job_id']}")).json()
    assert (job["status"], job["attempts"]) == ("Running", 1)
    done = await agent.http.post(
        agent.path(f"/jobs/{deployment['job_id']}/status"),
        json={"status": "Completed", "served_sha256": deployment["fingerprint_sha256"]},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "Completed"
    certificate = (await api.get(f"/api/v1/certificates/{mapped.cert_id}")).json()
    assert certificate["status"] == "Active"
    metrics = (await api.get("/metrics")).text
    assert 'certctl_agents{status="Online"} 1.0' in metrics
    assert 'certctl_deployments_total{result="completed"} 1.0' in metrics


async def test_a_served_fingerprint_that_differs_fails_the_deployment(
    register: Register, api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Completed with another served leaf becomes Failed naming both fingerprints."""
    agent = await register()
    _, deployment = await issued_and_deploying(api, ctx, agent)
    answer = await agent.http.post(
        agent.path(f"/jobs/{deployment['job_id']}/status"),
        json={"status": "Completed", "served_sha256": "0" * 64},
    )
    assert answer.json()["status"] == "Failed"
    assert answer.json()["last_error"] == (
        f"the endpoint serves {'0' * 64}, not the deployed {deployment['fingerprint_sha256']}"
    )


async def test_a_failed_deployment_queues_a_deployment_failure_notification(
    register: Register, api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Failed with the reason; one deployment_failed outbox row per lifecycle channel."""
    agent = await register()
    mapped, deployment = await issued_and_deploying(api, ctx, agent)
    answer = await agent.http.post(
        agent.path(f"/jobs/{deployment['job_id']}/status"),
        json={"status": "Failed", "reason": "nginx -t: bad certificate"},
    )
    assert (answer.json()["status"], answer.json()["last_error"]) == (
        "Failed",
        "nginx -t: bad certificate",
    )
    rows = (await api.get("/api/v1/notifications", params={"per_page": 100})).json()["data"]
    failed = [r for r in rows if r["kind"] == "deployment_failed"]
    assert sorted(r["channel"] for r in failed) == ["Email", "Webhook"]
    assert {r["certificate_id"] for r in failed} == {mapped.cert_id}


async def test_one_agent_cannot_read_or_touch_another_agents_work(
    register: Register, api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Another agent's path is 403; its jobs and certificates are 404 through one's own path."""
    owner = await register()
    other = await register("db-01", "db-01.example")
    mapped, deployment = await issued_and_deploying(api, ctx, owner)
    second = await deployable(api, owner, "api")
    csr_job = await awaiting_csr(api, ctx, second.cert_id)
    assert (await other.http.get(owner.path("/work"))).status_code == 403
    assert (await other.http.get(other.path("/work"))).json() == {
        "csr_jobs": [],
        "deployments": [],
    }
    cert = await other.http.get(other.path(f"/certificates/{mapped.cert_id}"))
    assert cert.status_code == 404
    csr = await other.http.post(
        other.path("/csr"), json={"job_id": csr_job, "csr_pem": csr_for("api.example.com")}
    )
    assert csr.status_code == 404
    report = await other.http.post(
        other.path(f"/jobs/{deployment['job_id']}/status"), json={"status": "Completed"}
    )
    assert report.status_code == 404
    job = (await api.get(f"/api/v1/jobs/{deployment['job_id']}")).json()
    assert job["status"] == "Running"


async def test_a_retired_agent_gets_410_on_every_route(
    register: Register, api: httpx.AsyncClient
) -> None:
    """Heartbeat, work, CSR, certificate and status all answer 410 Gone."""
    agent = await register()
    retired = await api.post(f"/api/v1/agents/{agent.id}/retire", json={"reason": "decommissioned"})
    assert retired.status_code == 200
    calls = [
        agent.http.post(agent.path("/heartbeat"), json={}),
        agent.http.get(agent.path("/work")),
        agent.http.post(agent.path("/csr"), json={"job_id": "j", "csr_pem": "x"}),
        agent.http.get(agent.path("/certificates/mc-x")),
        agent.http.post(agent.path("/jobs/j/status"), json={"status": "Running"}),
    ]
    statuses = [(await call).status_code for call in calls]
    assert statuses == [410, 410, 410, 410, 410]


async def test_deploy_on_demand_queues_one_job_per_target_once(
    register: Register, api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """202 with one Pending job; asked again while it is open, none is added."""
    agent = await register()
    mapped, deployment = await issued_and_deploying(api, ctx, agent)
    await agent.http.post(
        agent.path(f"/jobs/{deployment['job_id']}/status"),
        json={"status": "Completed"},
    )
    first = await api.post(f"/api/v1/certificates/{mapped.cert_id}/deploy")
    assert first.status_code == 202
    jobs = first.json()["jobs"]
    assert [(j["type"], j["status"], j["target_id"], j["agent_id"]) for j in jobs] == [
        ("Deployment", "Pending", mapped.target_id, agent.id)
    ]
    second = await api.post(f"/api/v1/certificates/{mapped.cert_id}/deploy")
    assert second.json() == {"jobs": []}


async def test_deploy_on_demand_of_a_never_issued_certificate_is_a_conflict(
    register: Register, api: httpx.AsyncClient
) -> None:
    """409: nothing to deploy."""
    agent = await register()
    mapped = await deployable(api, agent)
    answer = await api.post(f"/api/v1/certificates/{mapped.cert_id}/deploy")
    assert answer.status_code == 409
