"""The job processor, leases, retries, timeouts and the renewal scan (services, both databases)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import structlog

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.connectors.issuers.base import IssuanceRefused
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.jobs import JobFilter, JobStatus
from certctl.domain.listing import PageRequest, SortKey
from certctl.errors import CAUnavailable, ConnectorError
from certctl.services.issuance import IssuanceService
from certctl.services.issuers import IssuerConnectors
from certctl.services.jobs import JobService
from certctl.services.notifications import NotificationFilter
from certctl.testing.issuers import ScriptedIssuer

from .conftest import MakeCert, approval_profile, csr_for


async def _job(ctx: AppContext, job_id: str) -> Any:
    return await ctx.jobs.get(SYSTEM_CALLER, job_id)


async def _renew(api: httpx.AsyncClient, cert_id: str) -> str:
    response = await api.post(f"/api/v1/certificates/{cert_id}/renew")
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _events(ctx: AppContext, cert_id: str) -> list[tuple[str, str, str]]:
    page = await ctx.notifications.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=100),
        filters=NotificationFilter(certificate_id=cert_id),
    )
    return sorted((e.kind.value, e.channel, e.status.value) for e in page.items)


def _with_issuer(ctx: AppContext, issuer_id: str, connector: ScriptedIssuer) -> JobService:
    """A server-keygen job service whose issuer `issuer_id` is the scripted CA."""
    connectors = IssuerConnectors(
        ctx.runtime, ctx.pki, allow_private=True, pinned={issuer_id: connector}
    )
    return JobService(ctx.runtime, IssuanceService(ctx.runtime, connectors), keygen_mode="server")


@pytest.fixture
def server_keygen(ctx: AppContext) -> JobService:
    """The job service with demo server-side key generation."""
    return JobService(ctx.runtime, ctx.issuance, keygen_mode="server")


async def test_server_keygen_completes_a_renewal_with_a_new_version(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext, server_keygen: JobService
) -> None:
    """In server mode one processor tick issues the leaf and completes the job."""
    cert = await make_cert(status="Active", expires_at="2026-06-20T00:00:00Z")
    job_id = await _renew(api, cert["id"])
    summary = await server_keygen.process_due()
    assert (summary.claimed, summary.completed, summary.failed) == (1, 1, 0)
    job = await _job(ctx, job_id)
    assert (job.status, job.attempts, job.lease_owner) == (JobStatus.COMPLETED, 1, None)
    after = (await api.get(f"/api/v1/certificates/{cert['id']}")).json()
    assert after["status"] == "Active"
    assert after["expires_at"] == "2026-08-30T12:00:00Z"  # 90-day default leaf
    versions = (await api.get(f"/api/v1/certificates/{cert['id']}/versions")).json()["data"]
    assert len(versions) == 1
    assert versions[0]["key_algorithm"] == "ECDSA"


async def test_completion_queues_a_deployment_job_per_enabled_target(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext, server_keygen: JobService
) -> None:
    """Each enabled target of the certificate gets a Pending Deployment job."""
    targets = []
    for name, enabled in (("edge-1", True), ("edge-2", True), ("old", False)):
        config = {"cert_path": f"/etc/nginx/{name}.crt", "key_path": f"/etc/nginx/{name}.key"}
        response = await api.post(
            "/api/v1/targets",
            json={"name": name, "type": "NGINX", "enabled": enabled, "config": config},
        )
        targets.append(response.json()["id"])
    cert = await make_cert(target_ids=targets)
    await _renew(api, cert["id"])
    await server_keygen.process_due()
    page = await ctx.jobs.search(
        SYSTEM_CALLER,
        request=PageRequest(),
        filters=JobFilter(certificate_id=cert["id"]),
        sort=SortKey("target_id"),
    )
    deployments = [(j.type.value, j.status.value, j.target_id) for j in page.items if j.target_id]
    assert sorted(deployments) == sorted(
        [("Deployment", "Pending", targets[0]), ("Deployment", "Pending", targets[1])]
    )


async def test_a_job_not_yet_due_is_not_claimed(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """Jobs awaiting approval are never claimed; nothing else is due either."""
    profile_id = await approval_profile(api)
    cert = await make_cert(certificate_profile_id=profile_id)
    await _renew(api, cert["id"])
    summary = await ctx.jobs.process_due()
    assert summary.claimed == 0


async def test_an_expired_lease_is_reclaimed_as_a_new_attempt(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext, clock: FrozenClock
) -> None:
    """A worker that claimed a job and died leaves it Running; after the lease it is retaken."""
    cert = await make_cert()
    job_id = await _renew(api, cert["id"])
    crashed = JobService(ctx.runtime, ctx.issuance)
    started = await crashed.claim()
    assert [(j.id, j.attempts, j.lease_owner) for j in started] == [(job_id, 1, crashed.node_id)]
    assert (await ctx.jobs.process_due()).claimed == 0  # lease still held
    clock.advance(timedelta(minutes=5, seconds=1))
    summary = await ctx.jobs.process_due()
    assert (summary.claimed, summary.awaiting_csr) == (1, 1)
    job = await _job(ctx, job_id)
    assert (job.status, job.attempts) == (JobStatus.AWAITING_CSR, 2)


async def test_a_reclaimed_job_out_of_attempts_fails(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext, clock: FrozenClock
) -> None:
    """max_attempts is honoured for crashed workers too."""
    policy = await api.post("/api/v1/renewal-policies", json={"name": "once", "max_retries": 0})
    cert = await make_cert(renewal_policy_id=policy.json()["id"])
    job_id = await _renew(api, cert["id"])
    await JobService(ctx.runtime, ctx.issuance).claim()
    clock.advance(timedelta(minutes=6))
    summary = await ctx.jobs.process_due()
    assert (summary.claimed, summary.failed) == (1, 1)
    job = await _job(ctx, job_id)
    assert job.status is JobStatus.FAILED
    assert job.last_error == "lease expired (worker stopped) (gave up after 1 attempts)"


async def test_failed_attempts_back_off_then_fail_at_max_attempts(
    api: httpx.AsyncClient,
    make_cert: MakeCert,
    ctx: AppContext,
    clock: FrozenClock,
    issuer_id: str,
) -> None:
    """Attempts increment, retries wait interval x 2^(n-1), the last failure is final."""
    policy = await api.post(
        "/api/v1/renewal-policies",
        json={"name": "twice", "max_retries": 2, "retry_interval_seconds": 60},
    )
    cert = await make_cert(renewal_policy_id=policy.json()["id"])
    job_id = await _renew(api, cert["id"])
    down = ScriptedIssuer(failure=CAUnavailable("the CA answered 503"))
    service = _with_issuer(ctx, issuer_id, down)
    waits = []
    for _ in range(3):
        summary = await service.process_due()
        assert summary.claimed == 1
        job = await _job(ctx, job_id)
        if job.status is JobStatus.PENDING:
            waits.append(job.scheduled_at - clock.now())
            assert (await service.process_due()).claimed == 0  # not due yet
            clock.set(job.scheduled_at)
    assert waits == [timedelta(seconds=60), timedelta(seconds=120)]
    assert len(down.requests) == 3
    assert (job.status, job.attempts, job.max_attempts) == (JobStatus.FAILED, 3, 3)
    assert job.last_error == "CAUnavailable: the CA answered 503 (gave up after 3 attempts)"
    after = (await api.get(f"/api/v1/certificates/{cert['id']}")).json()
    assert after["status"] == "Failed"
    assert await _events(ctx, cert["id"]) == [
        ("renewal_failed", "Email", "pending"),
    ]


async def test_a_refusal_by_the_ca_fails_the_job_at_once(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext, issuer_id: str
) -> None:
    """A failure no retry can fix (the CA refused the order) is final on attempt 1."""
    cert = await make_cert()
    job_id = await _renew(api, cert["id"])
    refusing = ScriptedIssuer(
        failure=IssuanceRefused(
            "authorization of web.example.com is invalid: urn:ietf:params:acme:error:dns: NXDOMAIN",
            connector="ACME",
        )
    )
    summary = await _with_issuer(ctx, issuer_id, refusing).process_due()
    assert (summary.claimed, summary.failed, summary.retried) == (1, 1, 0)
    job = await _job(ctx, job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
    assert job.last_error == (
        "authorization of web.example.com is invalid: urn:ietf:params:acme:error:dns: NXDOMAIN"
    )


async def test_a_rate_limit_retries_no_sooner_than_retry_after(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext, clock: FrozenClock, issuer_id: str
) -> None:
    """A CA's Retry-After longer than the backoff sets when the next attempt runs."""
    cert = await make_cert()
    job_id = await _renew(api, cert["id"])
    limited = ScriptedIssuer(
        failure=ConnectorError("rateLimited: too many orders", connector="ACME", retry_after=7200)
    )
    summary = await _with_issuer(ctx, issuer_id, limited).process_due()
    assert (summary.claimed, summary.retried) == (1, 1)
    job = await _job(ctx, job_id)
    assert (job.status, job.scheduled_at - clock.now()) == (JobStatus.PENDING, timedelta(hours=2))


async def test_an_order_saved_by_one_attempt_is_handed_to_the_next(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext, clock: FrozenClock, issuer_id: str
) -> None:
    """What the connector journaled is stored on the job and given back as `resume`, with its CSR."""
    cert = await make_cert()
    job_id = await _renew(api, cert["id"])
    state = {"order_url": "https://ca.test/order/1", "csr_pem": csr_for("web")}
    flaky = ScriptedIssuer(failure=CAUnavailable("the CA answered 503"), journal_states=[state])
    service = _with_issuer(ctx, issuer_id, flaky)
    await service.process_due()
    job = await _job(ctx, job_id)
    assert job.order_state == state
    clock.set(job.scheduled_at)
    flaky.journal_states.clear()
    await service.process_due()
    assert [dict(r.resume) for r in flaky.requests] == [{}, state]
    assert flaky.requests[1].csr_pem == state["csr_pem"]


@pytest.mark.parametrize(
    ("wait", "fails"),
    [(timedelta(hours=24), False), (timedelta(hours=24, seconds=1), True)],
)
async def test_awaiting_csr_times_out_after_24_hours(
    api: httpx.AsyncClient,
    make_cert: MakeCert,
    ctx: AppContext,
    clock: FrozenClock,
    wait: timedelta,
    fails: bool,
) -> None:
    """A job waiting for its CSR over 24 h fails with the reason; at exactly 24 h it waits."""
    cert = await make_cert()
    job_id = await _renew(api, cert["id"])
    await ctx.jobs.process_due()
    clock.advance(wait)
    summary = await ctx.jobs.expire_waits()
    job = await _job(ctx, job_id)
    if not fails:
        assert (summary.failed, job.status) == (0, JobStatus.AWAITING_CSR)
        return
    assert summary.job_ids == [job_id]
    assert (job.status, job.last_error) == (
        JobStatus.FAILED,
        "timed out after 24 h waiting for a CSR",
    )
    assert [e[0] for e in await _events(ctx, cert["id"])] == ["renewal_failed"]


async def test_awaiting_approval_times_out_after_168_hours(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext, clock: FrozenClock
) -> None:
    """A job nobody approved within a week fails, audited."""
    profile_id = await approval_profile(api)
    cert = await make_cert(certificate_profile_id=profile_id)
    job_id = await _renew(api, cert["id"])
    clock.advance(timedelta(hours=168, seconds=1))
    assert (await ctx.jobs.expire_waits()).failed == 1
    job = await _job(ctx, job_id)
    assert job.last_error == "timed out after 168 h waiting for an approval"
    audit = (await api.get("/api/v1/audit", params={"resource_id": job_id})).json()
    assert sorted(e["action"] for e in audit["data"]) == ["job_created", "job_failed"]


# --- Renewal scan ----------------------------------------------------------------------------


async def _policy(api: httpx.AsyncClient, name: str, **fields: object) -> str:
    response = await api.post("/api/v1/renewal-policies", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_renewal_scan_honours_the_window_and_auto_renew(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """Jobs only for auto-renewed certificates within their window, once."""
    auto = await _policy(api, "auto", renewal_window_days=20)
    manual = await _policy(api, "manual", renewal_window_days=20, auto_renew=False)
    due = await make_cert(
        "due", status="Active", renewal_policy_id=auto, expires_at="2026-06-21T00:00:00Z"
    )
    await make_cert(
        "early", status="Active", renewal_policy_id=auto, expires_at="2026-06-23T00:00:00Z"
    )
    await make_cert(
        "off", status="Active", renewal_policy_id=manual, expires_at="2026-06-05T00:00:00Z"
    )
    default = await make_cert(
        "default", status="Active", expires_at="2026-06-25T00:00:00Z"
    )  # no policy: 30 d
    await make_cert("unissued")  # no expiry: never a candidate
    first = await ctx.jobs.scan_renewals()
    assert (first.candidates, first.created, first.not_due, first.already_open) == (4, 2, 2, 0)
    page = await ctx.jobs.search(
        SYSTEM_CALLER, request=PageRequest(), filters=JobFilter(), sort=SortKey("certificate_id")
    )
    assert sorted(j.certificate_id for j in page.items) == sorted([due["id"], default["id"]])
    assert {(j.type.value, j.requested_by) for j in page.items} == {("Renewal", "system")}
    second = await ctx.jobs.scan_renewals()
    assert (second.created, second.already_open) == (0, 0)  # both are RenewalInProgress now
    assert second.candidates == 2


async def test_renewal_scan_skips_a_certificate_with_an_open_job(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """A manual renewal already open is counted, not duplicated."""
    cert = await make_cert(status="Expiring", expires_at="2026-06-10T00:00:00Z")
    job_id = await _renew(api, cert["id"])
    async with ctx.runtime.db.uow() as uow:  # put the status back as a scan would see it
        row = await uow.certificates.require(cert["id"])
        await uow.certificates.update(replace(row, status=row.status.EXPIRING))
    summary = await ctx.jobs.scan_renewals()
    assert (summary.created, summary.already_open) == (0, 1)
    listed = (await api.get("/api/v1/jobs")).json()
    assert [j["id"] for j in listed["data"]] == [job_id]


async def test_renewal_scan_does_not_ask_again_after_a_rejection(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """A rejected (or cancelled) renewal is not re-queued by the next scan; /renew still works."""
    cert = await make_cert(status="Expiring", expires_at="2026-06-10T00:00:00Z")
    assert (await ctx.jobs.scan_renewals()).created == 1
    job = (await api.get("/api/v1/jobs")).json()["data"][0]
    await api.post(f"/api/v1/jobs/{job['id']}/cancel", json={"reason": "freeze"})
    again = await ctx.jobs.scan_renewals()
    assert (again.created, again.declined) == (0, 1)
    assert (await api.post(f"/api/v1/certificates/{cert['id']}/renew")).status_code == 202


async def test_renewal_scan_puts_approval_jobs_in_awaiting_approval(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """A profile requiring approval sends scan-created jobs to AwaitingApproval."""
    profile_id = await approval_profile(api)
    await make_cert(
        certificate_profile_id=profile_id, status="Expiring", expires_at="2026-06-10T00:00:00Z"
    )
    summary = await ctx.jobs.scan_renewals()
    assert (summary.created, summary.awaiting_approval) == (1, 1)


async def test_the_renewal_loop_runs_the_scan(api: httpx.AsyncClient, make_cert: MakeCert) -> None:
    """POST /admin/loops/renewal/run reports the renewal jobs it created."""
    await make_cert(expires_at="2026-06-10T00:00:00Z", status="Expiring")
    response = await api.post("/api/v1/admin/loops/renewal/run")
    assert response.status_code == 200
    assert response.json()["renewals"]["created"] == 1


async def test_a_programming_error_fails_the_job_at_once_and_is_logged(
    api: httpx.AsyncClient,
    make_cert: MakeCert,
    ctx: AppContext,
    clock: FrozenClock,
    issuer_id: str,
) -> None:
    """A bug is not a retryable failure: the job fails on its first attempt, visibly and logged."""
    cert = await make_cert()
    job_id = await _renew(api, cert["id"])
    buggy = ScriptedIssuer(failure=TypeError("unsupported operand type(s) for +: 'int' and 'str'"))
    service = _with_issuer(ctx, issuer_id, buggy)
    with structlog.testing.capture_logs() as logs:
        summary = await service.process_due()
    assert (summary.claimed, summary.retried, summary.failed, summary.crashed) == (1, 0, 1, 1)
    job = await _job(ctx, job_id)
    assert (job.status, job.attempts, job.lease_owner) == (JobStatus.FAILED, 1, None)
    assert job.last_error == (
        "internal error (TypeError: unsupported operand type(s) for +: 'int' and 'str'); "
        "the server log has the traceback"
    )
    crashed = [e for e in logs if e["event"] == "jobs.attempt_crashed"]
    assert [(e["job_id"], e["log_level"], e["exc_info"]) for e in crashed] == [
        (job_id, "error", True)
    ]
    clock.advance(timedelta(days=1))
    assert (await service.process_due()).claimed == 0
    assert len(buggy.requests) == 1
    assert await _events(ctx, cert["id"]) == [
        ("renewal_failed", "Email", "pending"),
    ]
