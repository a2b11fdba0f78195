"""step-ca issuer against an in-process server speaking step-ca's documented endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from certctl.services.jobs import JobService
from certctl.testing.stepca import FakeStepCA

from .conftest import certificate_on, renew


@pytest.fixture
async def stepca() -> AsyncIterator[FakeStepCA]:
    """A fake step-ca with one JWK provisioner."""
    async with FakeStepCA() as server:
        yield server


async def _issuer(api: httpx.AsyncClient, ca: FakeStepCA, **config: Any) -> httpx.Response:
    body = {
        "url": ca.url,
        "root_fingerprint": ca.fingerprint,
        "provisioner": ca.provisioner,
        "provisioner_private_key": ca.private_jwk,
        **config,
    }
    return await api.post(
        "/api/v1/issuers", json={"name": "step", "type": "StepCA", "config": body}
    )


async def test_sign_sends_the_csr_with_a_provisioner_token(
    api: httpx.AsyncClient, stepca: FakeStepCA, processor: JobService
) -> None:
    """Saving checks /health and the root; issuing posts the CSR to /1.0/sign with a token
    naming the provisioner, the endpoint, the subject, the SANs and the root fingerprint."""
    created = await _issuer(api, stepca)
    assert created.status_code == 201, created.text
    assert [r.path for r in stepca.requests] == ["/health", f"/root/{stepca.fingerprint}"]
    cert_id = await certificate_on(api, created.json()["id"])
    await renew(api, cert_id)
    assert (await processor.process_due()).completed == 1
    sign = stepca.requests[-1]
    assert (sign.method, sign.path) == ("POST", "/1.0/sign")
    [version] = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    assert sign.json()["csr"] == version["csr_pem"]
    assert sign.json()["notAfter"] == "7776000s"
    [claims] = stepca.tokens
    assert {k: claims[k] for k in ("iss", "aud", "sub", "sans", "sha")} == {
        "iss": "ops@example.com",
        "aud": f"{stepca.url}/1.0/sign",
        "sub": "web.example.com",
        "sans": ["web.example.com"],
        "sha": stepca.fingerprint,
    }
    assert claims["exp"] - claims["nbf"] == 300
    assert version["issuer_dn"] == "CN=Fake step-ca Root"


async def test_revocation_is_passive_with_the_decimal_serial_and_reason_code(
    api: httpx.AsyncClient, stepca: FakeStepCA, processor: JobService
) -> None:
    """Revoking posts /1.0/revoke with a token whose subject is the decimal serial."""
    created = await _issuer(api, stepca)
    cert_id = await certificate_on(api, created.json()["id"])
    await renew(api, cert_id)
    assert (await processor.process_due()).completed == 1
    [version] = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    response = await api.post(
        f"/api/v1/certificates/{cert_id}/revoke", json={"reason": "keyCompromise"}
    )
    assert response.status_code == 200, response.text
    decimal = str(int(version["serial_number"], 16))
    [revoked] = stepca.revoked
    assert {k: revoked[k] for k in ("serial", "reasonCode", "reason", "passive")} == {
        "serial": decimal,
        "reasonCode": 1,
        "reason": "keyCompromise",
        "passive": True,
    }
    assert (stepca.tokens[-1]["aud"], stepca.tokens[-1]["sub"]) == (
        f"{stepca.url}/1.0/revoke",
        decimal,
    )


async def test_a_wrong_root_fingerprint_is_refused_when_saved(
    api: httpx.AsyncClient, stepca: FakeStepCA
) -> None:
    """A fingerprint the CA does not have: its /root answer is 404, named in the 400."""
    response = await _issuer(api, stepca, root_fingerprint="ab" * 32)
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == (
        "the issuer's CA cannot be used: step-ca refused (404): not found"
    )


async def test_a_foreign_provisioner_key_fails_the_job_with_the_cas_answer(
    api: httpx.AsyncClient, stepca: FakeStepCA, processor: JobService
) -> None:
    """A token signed by another key is refused by step-ca (401); the job fails at once."""
    other = FakeStepCA()
    created = await _issuer(api, stepca, provisioner_private_key=other.private_jwk)
    assert created.status_code == 201, created.text  # /health and /root need no token
    await renew(api, await certificate_on(api, created.json()["id"]))
    summary = await processor.process_due()
    assert (summary.failed, summary.retried) == (1, 0)
    jobs = (await api.get("/api/v1/jobs")).json()["data"]
    assert jobs[0]["last_error"] == (
        "step-ca refused (401): The request lacked necessary authorization to be completed."
    )
