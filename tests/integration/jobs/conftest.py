"""Fixtures of the job tests: a local CA issuer, certificates on it, CSRs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from certctl.pki.csr import make_csr

MakeCert = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def issuer_id(api: httpx.AsyncClient) -> str:
    """A GenericCA issuer with default configuration."""
    response = await api.post(
        "/api/v1/issuers", json={"name": "Local", "type": "GenericCA", "config": {}}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def make_cert(api: httpx.AsyncClient, issuer_id: str) -> MakeCert:
    """Create a certificate on the local CA issuer (name and CN from `name`)."""

    async def make(name: str = "web", **extra: Any) -> dict[str, Any]:
        body = {
            "name": name,
            "common_name": f"{name}.example.com",
            "issuer_id": issuer_id,
            **extra,
        }
        response = await api.post("/api/v1/certificates", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    return make


def csr_for(name: str) -> str:
    """A P-256 CSR for `<name>.example.com` (CN and DNS SAN)."""
    host = f"{name}.example.com"
    csr_pem, _ = make_csr(host, (host,), "ECDSA-P256")
    return csr_pem


async def approval_profile(api: httpx.AsyncClient) -> str:
    """A certificate profile that requires approval."""
    response = await api.post(
        "/api/v1/profiles", json={"name": "needs-approval", "requires_approval": True}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
