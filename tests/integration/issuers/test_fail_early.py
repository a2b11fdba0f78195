"""Fail early: issuers are validated per type and reached when saved; `POST /issuers/{id}/test`."""

from __future__ import annotations

import httpx
import pytest

from certctl.testing.postgres import free_port

from .conftest import StartPebble, acme_issuer


async def test_an_unknown_issuer_type_cannot_be_created(api: httpx.AsyncClient) -> None:
    """A type certctl has no connector for is refused naming `type`; nothing is stored."""
    response = await api.post(
        "/api/v1/issuers", json={"name": "x", "type": "Sectigo", "config": {}}
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "type"
    assert (await api.get("/api/v1/issuers")).json()["total"] == 0


@pytest.mark.parametrize(
    ("kind", "field"),
    [("VaultPKI", "config.address"), ("StepCA", "config.url"), ("OpenSSL", "config.script_path")],
)
async def test_each_type_validates_its_config(
    api: httpx.AsyncClient, kind: str, field: str
) -> None:
    """An empty config is refused naming the first missing field of that type."""
    response = await api.post("/api/v1/issuers", json={"name": "x", "type": kind, "config": {}})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


async def test_acme_terms_must_be_agreed_explicitly(api: httpx.AsyncClient) -> None:
    """An ACME config without terms_agreed: true is refused naming config.terms_agreed."""
    config = {"directory_url": "https://acme.example.com/dir"}
    response = await api.post(
        "/api/v1/issuers", json={"name": "le", "type": "ACME", "enabled": False, "config": config}
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "config.terms_agreed"


async def test_an_unknown_acme_setting_is_refused(api: httpx.AsyncClient) -> None:
    """A misspelt key is named rather than silently ignored."""
    config = {"directory_url": "https://acme.example.com/dir", "terms_agreed": True, "emial": "x"}
    response = await api.post(
        "/api/v1/issuers", json={"name": "le", "type": "ACME", "enabled": False, "config": config}
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "config.emial"


async def test_an_unreachable_directory_refuses_the_issuer(api: httpx.AsyncClient) -> None:
    """An enabled ACME issuer whose directory does not answer is a 400 naming the cause."""
    config = {"directory_url": f"https://127.0.0.1:{free_port()}/dir", "terms_agreed": True}
    response = await api.post(
        "/api/v1/issuers", json={"name": "le", "type": "ACME", "config": config}
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["field"] == "config"
    assert problem["detail"].startswith("the issuer's CA cannot be used: ACME server unreachable: ")
    assert (await api.get("/api/v1/issuers")).json()["total"] == 0


async def test_an_update_to_an_unreachable_directory_is_refused(
    api: httpx.AsyncClient, start_pebble: StartPebble
) -> None:
    """Pointing a working issuer at a dead directory is refused and changes nothing."""
    pebble = start_pebble()
    issuer_id = await acme_issuer(api, pebble)
    dead = {
        "directory_url": f"https://127.0.0.1:{free_port()}/dir",
        "terms_agreed": True,
        "ca_bundle_pem": pebble.listener_ca_pem,
    }
    response = await api.patch(f"/api/v1/issuers/{issuer_id}", json={"config": dead})
    assert response.status_code == 400, response.text
    after = (await api.get(f"/api/v1/issuers/{issuer_id}")).json()
    assert after["config"]["directory_url"] == pebble.directory_url


async def test_eab_required_by_the_directory_is_named(
    api: httpx.AsyncClient, start_pebble: StartPebble
) -> None:
    """pebble requiring External Account Binding refuses an issuer without eab_kid, saying so."""
    pebble = start_pebble(eab=True)
    config = {
        "directory_url": pebble.directory_url,
        "terms_agreed": True,
        "ca_bundle_pem": pebble.listener_ca_pem,
    }
    response = await api.post(
        "/api/v1/issuers", json={"name": "le", "type": "ACME", "config": config}
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == (
        "the issuer's CA cannot be used: the ACME server requires External Account Binding: "
        "set eab_kid and eab_hmac_key"
    )


async def test_the_connection_test_passes_and_is_recorded(
    api: httpx.AsyncClient, start_pebble: StartPebble
) -> None:
    """POST /issuers/{id}/test reaches pebble: ok, a detail, and the issuer's test status."""
    pebble = start_pebble()
    issuer_id = await acme_issuer(api, pebble)
    response = await api.post(f"/api/v1/issuers/{issuer_id}/test")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    assert (
        body["detail"]
        == f"ACME directory reachable at {pebble.directory_url}; terms of service data:text/plain,Do%20what%20thou%20wilt"
    )
    assert body["issuer"]["test_status"] == "passed"
    assert body["issuer"]["last_tested_at"] == "2026-06-01T12:00:00Z"


async def test_the_connection_test_names_the_cause_of_a_failure(
    api: httpx.AsyncClient, start_pebble: StartPebble
) -> None:
    """A disabled issuer whose CA is gone fails its test with the reason, recorded as failed."""
    config = {"directory_url": f"https://127.0.0.1:{free_port()}/dir", "terms_agreed": True}
    created = await api.post(
        "/api/v1/issuers", json={"name": "le", "type": "ACME", "enabled": False, "config": config}
    )
    assert created.status_code == 201, created.text
    response = await api.post(f"/api/v1/issuers/{created.json()['id']}/test")
    body = response.json()
    assert (response.status_code, body["ok"]) == (200, False)
    assert body["detail"].startswith("ACME server unreachable: ConnectionError")
    assert body["issuer"]["test_status"] == "failed"


async def test_the_local_ca_test_reports_its_certificate(api: httpx.AsyncClient) -> None:
    """A GenericCA issuer's test names its CA subject and validity."""
    created = await api.post(
        "/api/v1/issuers",
        json={"name": "Local", "type": "GenericCA", "config": {"common_name": "Test Root"}},
    )
    body = (await api.post(f"/api/v1/issuers/{created.json()['id']}/test")).json()
    assert body["ok"] is True
    assert body["detail"] == "local CA CN=Test Root valid until 2036-05-29 (3650 days)"


async def test_a_viewer_cannot_run_a_connection_test(
    api: httpx.AsyncClient, make_client: object
) -> None:
    """Testing records a result on the issuer: it takes the write permission."""
    created = await api.post(
        "/api/v1/issuers", json={"name": "Local", "type": "GenericCA", "config": {}}
    )
    viewer = make_client("viewer")  # type: ignore[operator]
    response = await viewer.post(f"/api/v1/issuers/{created.json()['id']}/test")
    assert response.status_code == 403
