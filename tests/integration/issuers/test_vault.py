"""Vault PKI issuer against an in-process server speaking Vault's documented endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.jobs import JobStatus
from certctl.services.jobs import JobService
from certctl.testing.vault import FakeVault

from .conftest import certificate_on, renew


@pytest.fixture
async def vault() -> AsyncIterator[FakeVault]:
    """A fake Vault with mount pki_int and role web."""
    async with FakeVault() as server:
        yield server


async def _issuer(api: httpx.AsyncClient, vault: FakeVault, **config: Any) -> httpx.Response:
    body = {"address": vault.url, "mount": "pki_int", "role": "web", **config}
    return await api.post(
        "/api/v1/issuers", json={"name": "vault", "type": "VaultPKI", "config": body}
    )


def _calls(vault: FakeVault) -> list[tuple[str, str, str]]:
    return [(r.method, r.path, r.headers.get("x-vault-token", "")) for r in vault.requests]


async def test_token_auth_signs_the_jobs_csr_with_the_role(
    api: httpx.AsyncClient, ctx: AppContext, vault: FakeVault, processor: JobService
) -> None:
    """lookup-self, then sign/web with the token, the CSR and the common name; the chain is
    the certificate then Vault's CA."""
    created = await _issuer(api, vault, token="s.root-token")
    assert created.status_code == 201, created.text
    vault.requests.clear()
    cert_id = await certificate_on(api, created.json()["id"])
    job_id = await renew(api, cert_id)
    summary = await processor.process_due()
    assert (summary.completed, summary.failed) == (1, 0)
    assert (await ctx.jobs.get(SYSTEM_CALLER, job_id)).status is JobStatus.COMPLETED
    assert _calls(vault) == [
        ("GET", "/v1/auth/token/lookup-self", "s.root-token"),
        ("POST", "/v1/pki_int/sign/web", "s.root-token"),
    ]
    [version] = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    sign = vault.requests[1].json()
    assert sign["csr"] == version["csr_pem"]
    assert (sign["common_name"], sign["ttl"], sign["format"]) == (
        "web.example.com",
        "7776000s",
        "pem",
    )
    assert version["issuer_dn"] == "CN=Fake Vault Intermediate"
    assert version["pem_chain"].count("BEGIN CERTIFICATE") == 2


async def test_approle_logs_in_and_uses_the_token_it_gets(
    api: httpx.AsyncClient, vault: FakeVault, processor: JobService
) -> None:
    """AppRole: login with role_id and secret_id; the returned client token signs."""
    created = await _issuer(
        api, vault, approle_role_id="role-id-1", approle_secret_id="secret-id-1"
    )
    assert created.status_code == 201, created.text
    login = vault.requests[0]
    assert (login.method, login.path) == ("POST", "/v1/auth/approle/login")
    assert login.json() == {"role_id": "role-id-1", "secret_id": "secret-id-1"}
    vault.requests.clear()
    await renew(api, await certificate_on(api, created.json()["id"]))
    assert (await processor.process_due()).completed == 1
    assert _calls(vault) == [
        ("POST", "/v1/auth/approle/login", ""),
        ("POST", "/v1/pki_int/sign/web", "s.approle-token"),
    ]


async def test_a_token_near_its_end_is_renewed_before_use(
    api: httpx.AsyncClient, processor: JobService
) -> None:
    """A renewable token with 10 minutes left is renewed (renew-self) before signing."""
    async with FakeVault(token_ttl=600) as vault:
        created = await _issuer(api, vault, token="s.root-token")
        vault.tokens["s.root-token"] = 600
        vault.requests.clear()
        await renew(api, await certificate_on(api, created.json()["id"]))
        assert (await processor.process_due()).completed == 1
        assert [p for _, p, _ in _calls(vault)] == [
            "/v1/auth/token/lookup-self",
            "/v1/auth/token/renew-self",
            "/v1/pki_int/sign/web",
        ]


async def test_a_bad_token_is_refused_when_the_issuer_is_saved(
    api: httpx.AsyncClient, vault: FakeVault
) -> None:
    """Fail early: Vault's 403 is a 400 naming the cause; nothing is stored."""
    response = await _issuer(api, vault, token="s.wrong")
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == (
        "the issuer's CA cannot be used: Vault refused the token: permission denied"
    )


async def test_an_unknown_role_is_refused_when_the_issuer_is_saved(
    api: httpx.AsyncClient, vault: FakeVault
) -> None:
    """Fail early: reading a role Vault does not have is a 400 naming the missing path."""
    response = await _issuer(api, vault, token="s.root-token", role="nope")
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(
        "the issuer's CA cannot be used: Vault has no such path"
    )
    assert vault.requests[-1].path == "/v1/pki_int/roles/nope"


async def test_revocation_sends_the_colon_serial(
    api: httpx.AsyncClient, vault: FakeVault, processor: JobService
) -> None:
    """Revoking posts the serial in Vault's colon form to /revoke."""
    created = await _issuer(api, vault, token="s.root-token")
    cert_id = await certificate_on(api, created.json()["id"])
    await renew(api, cert_id)
    assert (await processor.process_due()).completed == 1
    [version] = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    response = await api.post(
        f"/api/v1/certificates/{cert_id}/revoke", json={"reason": "superseded"}
    )
    assert response.status_code == 200, response.text
    serial = version["serial_number"]
    digits = serial.zfill(len(serial) + len(serial) % 2)
    assert vault.revoked == [":".join(digits[i : i + 2] for i in range(0, len(digits), 2))]
