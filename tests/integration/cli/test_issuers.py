"""`certctl issuers …`: list and test."""

from __future__ import annotations

import httpx
import pytest

from certctl.testing.postgres import free_port

from .conftest import Cli, fields, rows


@pytest.fixture
async def local_ca(api: httpx.AsyncClient) -> str:
    """A GenericCA issuer named Local."""
    response = await api.post(
        "/api/v1/issuers",
        json={"id": "iss-local", "name": "Local", "type": "GenericCA", "config": {}},
    )
    assert response.status_code == 201, response.text
    return "iss-local"


async def test_list_shows_type_state_and_test_status(cli: Cli, local_ca: str) -> None:
    """One row per issuer: id, name, type, enabled, test status."""
    run = await cli("issuers", "list", role="viewer")
    assert rows(run.stdout) == [[local_ca, "Local", "GenericCA", "yes", "untested"]]


async def test_test_passes_for_the_local_ca(cli: Cli, local_ca: str) -> None:
    """`issuers test` prints the verdict and the CA's description, exit 0."""
    run = await cli("issuers", "test", local_ca)
    assert run.code == 0, run.stderr
    shown = fields(run.stdout)
    assert shown["Result"] == "passed"
    assert shown["Detail"].startswith("local CA CN=Local valid until")


async def test_a_failed_test_exits_1_naming_the_cause(cli: Cli, api: httpx.AsyncClient) -> None:
    """A dead ACME directory: JSON says ok false, and the command exits 1 with the reason."""
    config = {"directory_url": f"https://127.0.0.1:{free_port()}/dir", "terms_agreed": True}
    created = await api.post(
        "/api/v1/issuers", json={"name": "le", "type": "ACME", "enabled": False, "config": config}
    )
    assert created.status_code == 201, created.text
    run = await cli("issuers", "test", created.json()["id"], "--output", "json")
    assert run.code == 1
    assert run.json()["ok"] is False
    assert "error: connection test failed:" in run.stderr
