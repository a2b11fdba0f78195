"""Jobs through the API: renew requests, listing, approvals, cancel, CSR completion."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest
from certctl.pki.csr import make_csr

from .conftest import MakeCert, approval_profile, csr_for

ClientFor = Callable[[str | None], httpx.AsyncClient]


async def _actions(ctx: AppContext, resource_id: str) -> list[str]:
    page = await ctx.audit.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=100),
        filters=AuditFilter(resource_id=resource_id),
    )
    return sorted(e.action for e in page.items)


async def test_renew_queues_a_pending_renewal_job_and_marks_the_certificate(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """POST /renew answers 202 with a Pending job; the certificate is RenewalInProgress."""
    cert = await make_cert(status="Active", expires_at="2026-06-20T00:00:00Z")
    response = await api.post(f"/api/v1/certificates/{cert['id']}/renew")
    assert response.status_code == 202
    job = response.json()
    assert (job["type"], job["status"], job["certificate_id"]) == (
        "Renewal",
        "Pending",
        cert["id"],
    )
    assert (job["attempts"], job["max_attempts"], job["requested_by"]) == (0, 4, "admin-user")
    assert job["scheduled_at"] == "2026-06-01T12:00:00Z"
    after = (await api.get(f"/api/v1/certificates/{cert['id']}")).json()
    assert after["status"] == "RenewalInProgress"
    assert await _actions(ctx, job["id"]) == ["job_created"]


async def test_a_certificate_never_issued_gets_an_issuance_job(
    api: httpx.AsyncClient, make_cert: MakeCert
) -> None:
    """Without an expiry (nothing issued yet) the job is an Issuance."""
    cert = await make_cert()
    job = (await api.post(f"/api/v1/certificates/{cert['id']}/renew")).json()
    assert job["type"] == "Issuance"


async def test_a_second_renew_while_one_is_open_is_a_conflict(
    api: httpx.AsyncClient, make_cert: MakeCert
) -> None:
    """One open issuing job per certificate: the second request gets 409 naming the first."""
    cert = await make_cert()
    first = (await api.post(f"/api/v1/certificates/{cert['id']}/renew")).json()
    second = await api.post(f"/api/v1/certificates/{cert['id']}/renew")
    assert second.status_code == 409
    assert first["id"] in second.json()["detail"]
    listed = (await api.get("/api/v1/jobs", params={"certificate_id": cert["id"]})).json()
    assert listed["total"] == 1


async def test_renew_refuses_revoked_and_issuerless_certificates(
    api: httpx.AsyncClient, make_cert: MakeCert
) -> None:
    """A revoked certificate is 409; one without an issuer is 400 naming issuer_id."""
    revoked = await make_cert("gone")
    assert (
        await api.post(f"/api/v1/certificates/{revoked['id']}/revoke", json={})
    ).status_code == 200
    response = await api.post(f"/api/v1/certificates/{revoked['id']}/renew")
    assert response.status_code == 409
    assert response.json()["detail"] == "certificate is Revoked; it cannot be renewed"
    bare = await api.post(
        "/api/v1/certificates", json={"name": "bare", "common_name": "bare.example.com"}
    )
    response = await api.post(f"/api/v1/certificates/{bare.json()['id']}/renew")
    assert response.status_code == 400
    assert response.json()["field"] == "issuer_id"


async def test_viewer_cannot_renew(make_client: ClientFor, make_cert: MakeCert) -> None:
    """Renewing is a write: a viewer gets 403 and no job exists."""
    cert = await make_cert()
    response = await make_client("viewer").post(f"/api/v1/certificates/{cert['id']}/renew")
    assert response.status_code == 403
    listed = (await make_client("viewer").get("/api/v1/jobs")).json()
    assert listed["total"] == 0


async def test_jobs_list_filters_by_status_and_type(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """status and type filter the list; totals are true counts; unknown status is 400."""
    for name in ("a", "b", "c"):
        cert = await make_cert(name)
        job = (await api.post(f"/api/v1/certificates/{cert['id']}/renew")).json()
        if name == "c":
            await api.post(f"/api/v1/jobs/{job['id']}/cancel", json={"reason": "not now"})
    pending = (await api.get("/api/v1/jobs", params={"status": "Pending"})).json()
    assert pending["total"] == 2
    cancelled = (await api.get("/api/v1/jobs", params={"status": "Cancelled"})).json()
    assert [j["decision_reason"] for j in cancelled["data"]] == ["not now"]
    issuance = (await api.get("/api/v1/jobs", params={"type": "Issuance"})).json()
    assert issuance["total"] == 3
    bad = await api.get("/api/v1/jobs", params={"status": "Done"})
    assert bad.status_code == 400
    assert bad.json()["field"] == "status"


async def test_get_unknown_job_is_404(api: httpx.AsyncClient) -> None:
    """An unknown job id is a 404 problem."""
    response = await api.get("/api/v1/jobs/job-nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_cancel_restores_the_certificate_status_and_a_second_cancel_conflicts(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """Cancelling gives the certificate back the status its dates imply; terminal is final."""
    cert = await make_cert(status="Active", expires_at="2026-06-20T00:00:00Z")
    job = (await api.post(f"/api/v1/certificates/{cert['id']}/renew")).json()
    response = await api.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "Cancelled"
    after = (await api.get(f"/api/v1/certificates/{cert['id']}")).json()
    assert after["status"] == "Expiring"  # 18.5 days left, window 30
    again = await api.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"] == "job is Cancelled; it cannot become Cancelled"
    assert await _actions(ctx, job["id"]) == ["job_cancelled", "job_create_failed", "job_created"]


async def test_submitting_a_csr_completes_the_open_job(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """An agent-mode job waits for the CSR; issuing from it completes the job."""
    cert = await make_cert()
    job = (await api.post(f"/api/v1/certificates/{cert['id']}/renew")).json()
    summary = await ctx.jobs.process_due()
    assert (summary.claimed, summary.awaiting_csr) == (1, 1)
    waiting = (await api.get(f"/api/v1/jobs/{job['id']}")).json()
    assert (waiting["status"], waiting["attempts"], waiting["lease_owner"]) == (
        "AwaitingCSR",
        1,
        None,
    )
    issued = await api.post(
        f"/api/v1/certificates/{cert['id']}/csr", json={"csr_pem": csr_for("web")}
    )
    assert issued.status_code == 201, issued.text
    done = (await api.get(f"/api/v1/jobs/{job['id']}")).json()
    assert (done["status"], done["completed_at"]) == ("Completed", "2026-06-01T12:00:00Z")
    assert issued.json()["certificate"]["status"] == "Active"
    assert await _actions(ctx, job["id"]) == [
        "job_awaiting_csr",
        "job_completed",
        "job_created",
        "job_started",
    ]


async def test_a_rejected_csr_leaves_the_job_waiting(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """A CSR the profile refuses is a 4xx and the job still waits for a good one."""
    cert = await make_cert()
    job = (await api.post(f"/api/v1/certificates/{cert['id']}/renew")).json()
    await ctx.jobs.process_due()
    ed25519_csr, _ = make_csr("web.example.com", ("web.example.com",), "Ed25519")
    response = await api.post(
        f"/api/v1/certificates/{cert['id']}/csr", json={"csr_pem": ed25519_csr}
    )
    assert response.status_code == 422
    assert response.json()["rule"] == "key_algorithm"
    still = (await api.get(f"/api/v1/jobs/{job['id']}")).json()
    assert still["status"] == "AwaitingCSR"


# --- Approvals -------------------------------------------------------------------------------


@pytest.fixture
async def awaiting(
    api: httpx.AsyncClient, make_client: ClientFor, make_cert: MakeCert
) -> dict[str, str]:
    """A job awaiting approval, requested by operator-user, on a certificate owned by admin-user."""
    profile_id = await approval_profile(api)
    owner = await api.post(
        "/api/v1/owners", json={"name": "admin-user", "email": "admin@example.com"}
    )
    cert = await make_cert(certificate_profile_id=profile_id, owner_id=owner.json()["id"])
    response = await make_client("operator").post(f"/api/v1/certificates/{cert['id']}/renew")
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "AwaitingApproval"
    created = await api.post("/api/v1/api-keys", json={"name": "approver", "role": "operator"})
    assert created.status_code == 201, created.text
    return {"job_id": job["id"], "cert_id": cert["id"], "other_key": created.json()["key"]}


@pytest.fixture
async def other(ctx: AppContext, awaiting: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a stored operator key: neither the requester nor the owner."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(ctx)),
        base_url="http://certctl.test",
        headers={"Authorization": f"Bearer {awaiting['other_key']}"},
    ) as client:
        yield client


DECIDED = {"approve": "job_approved", "reject": "job_rejected"}


@pytest.mark.parametrize(
    ("who", "decision", "expected"),
    [
        ("requester", "approve", 403),
        ("owner", "approve", 403),
        ("other", "approve", 200),
        ("requester", "reject", 200),
        ("owner", "reject", 200),
        ("other", "reject", 200),
    ],
)
async def test_approval_matrix(
    api: httpx.AsyncClient,
    make_client: ClientFor,
    other: httpx.AsyncClient,
    awaiting: dict[str, str],
    ctx: AppContext,
    who: str,
    decision: str,
    expected: int,
) -> None:
    """Neither the requester nor the owner may approve; anyone with write may reject."""
    client = {"requester": make_client("operator"), "owner": make_client("admin")}.get(who, other)
    body = {"reason": "checked the change ticket"}
    response = await client.post(f"/api/v1/jobs/{awaiting['job_id']}/{decision}", json=body)
    assert response.status_code == expected, response.text
    job = (await api.get(f"/api/v1/jobs/{awaiting['job_id']}")).json()
    actions = await _actions(ctx, awaiting["job_id"])
    if expected == 403:
        assert job["status"] == "AwaitingApproval"
        reasons = {
            "requester": "the requester of a job cannot approve it",
            "owner": "the owner of the certificate cannot approve its job",
        }
        assert response.json()["detail"] == reasons[who]
        assert actions == ["job_create_denied", "job_created"]
        return
    if decision == "approve":
        assert (job["status"], job["approved_by"]) == ("Pending", "approver")
    else:
        assert (job["status"], job["approved_by"]) == ("Cancelled", None)
    assert job["decision_reason"] == "checked the change ticket"
    assert actions == sorted([DECIDED[decision], "job_created"])


async def test_reject_needs_a_reason(api: httpx.AsyncClient, awaiting: dict[str, str]) -> None:
    """A rejection without a reason (missing or blank) is 400 naming reason."""
    missing = await api.post(f"/api/v1/jobs/{awaiting['job_id']}/reject", json={})
    blank = await api.post(f"/api/v1/jobs/{awaiting['job_id']}/reject", json={"reason": "  "})
    assert (missing.status_code, blank.status_code) == (400, 400)
    assert blank.json()["field"] == "reason"
    assert "reason" in missing.text


async def test_approving_a_job_not_awaiting_approval_conflicts(
    api: httpx.AsyncClient, make_cert: MakeCert
) -> None:
    """Approve and reject apply only to AwaitingApproval jobs."""
    cert = await make_cert()
    job = (await api.post(f"/api/v1/certificates/{cert['id']}/renew")).json()
    response = await api.post(f"/api/v1/jobs/{job['id']}/approve")
    assert response.status_code == 409
    assert (
        response.json()["detail"] == "job is Pending; only a job AwaitingApproval can be approved"
    )


async def test_a_csr_for_a_job_awaiting_approval_is_refused(
    api: httpx.AsyncClient, awaiting: dict[str, str]
) -> None:
    """Approval gates issuance: the CSR waits for the decision."""
    response = await api.post(
        f"/api/v1/certificates/{awaiting['cert_id']}/csr", json={"csr_pem": csr_for("web")}
    )
    assert response.status_code == 409
    assert awaiting["job_id"] in response.json()["detail"]


async def test_a_profile_requiring_approval_refuses_a_csr_without_a_job(
    api: httpx.AsyncClient, make_cert: MakeCert
) -> None:
    """Without an approved job there is no issuance under an approval profile."""
    profile_id = await approval_profile(api)
    cert = await make_cert(certificate_profile_id=profile_id)
    response = await api.post(
        f"/api/v1/certificates/{cert['id']}/csr", json={"csr_pem": csr_for("web")}
    )
    assert response.status_code == 409
    assert "requires approval" in response.json()["detail"]


async def test_metrics_count_jobs_by_status_and_issuances_by_result(
    api: httpx.AsyncClient, make_cert: MakeCert, ctx: AppContext
) -> None:
    """/metrics shows certctl_jobs{status} and certctl_issuance_total{issuer_type,result}."""
    cert = await make_cert()
    await api.post(f"/api/v1/certificates/{cert['id']}/renew")
    ed25519_csr, _ = make_csr("web.example.com", ("web.example.com",), "Ed25519")
    await api.post(f"/api/v1/certificates/{cert['id']}/csr", json={"csr_pem": ed25519_csr})
    await api.post(f"/api/v1/certificates/{cert['id']}/csr", json={"csr_pem": csr_for("web")})
    text = (await api.get("/metrics")).text
    assert 'certctl_jobs{status="Completed"} 1.0' in text
    assert 'certctl_jobs{status="Pending"} 0.0' in text
    assert 'certctl_issuance_total{issuer_type="GenericCA",result="success"} 1.0' in text
    assert 'certctl_issuance_total{issuer_type="GenericCA",result="PolicyViolation"} 1.0' in text
    assert 'certctl_issuance_duration_seconds_count{issuer_type="GenericCA"} 1.0' in text
