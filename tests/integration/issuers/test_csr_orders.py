"""A CSR posted for a remote CA's certificate is checked, stored on the job and left to the
job processor (202); the processor then runs the ACME order on pebble."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.jobs import JobStatus
from certctl.pki.csr import make_csr
from certctl.testing.ari import RenewalInfoCA

from .conftest import StartPebble, acme_issuer, certificate_on, renew


def csr_for(name: str) -> str:
    """A fresh P-256 CSR for `name`."""
    return make_csr(name, (name,), "ECDSA-P256")[0]


async def test_a_csr_for_an_acme_certificate_is_queued_then_issued_by_the_processor(
    api: httpx.AsyncClient,
    ctx: AppContext,
    start_pebble: StartPebble,
    challenge_server: str,
) -> None:
    """The agent's CSR for a job awaiting it returns 202 with the job Pending (no order yet);
    one processor tick runs the order on pebble and completes the job with that CSR."""
    pebble = start_pebble()
    cert_id = await certificate_on(api, await acme_issuer(api, pebble))
    job_id = await renew(api, cert_id)
    assert (await ctx.jobs.process_due()).awaiting_csr == 1
    csr = csr_for("web.example.com")
    response = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr})
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/jobs/{job_id}"
    body = response.json()
    assert (body["id"], body["status"], body["attempts"]) == (job_id, "Pending", 1)
    queued = await ctx.jobs.get(SYSTEM_CALLER, job_id)
    assert queued.order_state == {"csr_pem": csr}
    versions = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    assert versions == []

    summary = await ctx.jobs.process_due()
    assert (summary.claimed, summary.completed, summary.failed) == (1, 1, 0)
    job = await ctx.jobs.get(SYSTEM_CALLER, job_id)
    assert (job.status, job.attempts) == (JobStatus.COMPLETED, 2)
    versions = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    assert len(versions) == 1
    assert versions[0]["csr_pem"] == csr
    assert pebble.certificate_status(versions[0]["serial_number"])["Status"] == "Valid"


@pytest.fixture
async def directory() -> AsyncIterator[RenewalInfoCA]:
    """An ACME directory the issuer can be created on (no order is run)."""
    async with RenewalInfoCA() as server:
        yield server


async def _acme_certificate(api: httpx.AsyncClient, directory: RenewalInfoCA) -> str:
    response = await api.post(
        "/api/v1/issuers",
        json={
            "name": "acme",
            "type": "ACME",
            "config": {"directory_url": f"{directory.url}/dir", "terms_agreed": True},
        },
    )
    assert response.status_code == 201, response.text
    return await certificate_on(api, response.json()["id"])


async def test_a_csr_without_an_open_job_opens_one(
    api: httpx.AsyncClient, ctx: AppContext, directory: RenewalInfoCA
) -> None:
    """With no job open, the CSR opens a Pending issuance job carrying it; no order is sent."""
    cert_id = await _acme_certificate(api, directory)
    csr = csr_for("web.example.com")
    response = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["type"], body["status"], body["attempts"]) == ("Issuance", "Pending", 0)
    job = await ctx.jobs.get(SYSTEM_CALLER, body["id"])
    assert job.order_state == {"csr_pem": csr}
    assert directory.orders == []


async def test_a_second_csr_for_the_same_job_is_a_conflict(
    api: httpx.AsyncClient, ctx: AppContext, directory: RenewalInfoCA
) -> None:
    """Once a job holds a CSR, another one is refused with 409 and the first one is kept."""
    cert_id = await _acme_certificate(api, directory)
    first = csr_for("web.example.com")
    queued = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": first})
    second = await api.post(
        f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr_for("web.example.com")}
    )
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    job = await ctx.jobs.get(SYSTEM_CALLER, queued.json()["id"])
    assert job.order_state == {"csr_pem": first}


async def test_a_csr_breaking_the_profile_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, ctx: AppContext, directory: RenewalInfoCA
) -> None:
    """A CSR for a name the certificate does not declare is a 422 naming csr_pem; no job
    is opened."""
    cert_id = await _acme_certificate(api, directory)
    response = await api.post(
        f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr_for("other.example.com")}
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "csr_pem"
    jobs = (await api.get("/api/v1/jobs", params={"certificate_id": cert_id})).json()
    assert jobs["total"] == 0
