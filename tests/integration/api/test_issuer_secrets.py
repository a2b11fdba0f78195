"""Issuer secrets: sealed with AES-256-GCM at rest, masked in every answer; targets take none."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from certctl.bootstrap import AppContext
from certctl.services.secrets import open_secrets

# Disabled: an enabled issuer is reached when saved, and nothing listens at acme.example.com.
ACME = {
    "name": "acme",
    "type": "ACME",
    "enabled": False,
    "config": {
        "directory_url": "https://acme.example.com/dir",
        "terms_agreed": True,
        "eab_kid": "kid-1",
        "eab_hmac_key": "TOPSECRET",
    },
}
PUBLIC = {"directory_url": "https://acme.example.com/dir", "terms_agreed": True, "eab_kid": "kid-1"}


async def _raw_row(ctx: AppContext, table: str, row_id: str) -> tuple[str, str | None]:
    async with ctx.runtime.db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(f"SELECT config, sealed_secrets FROM {table} WHERE id = :id"), {"id": row_id}
            )
        ).one()
    return str(row[0]), row[1]


async def _raw_issuer(ctx: AppContext, issuer_id: str) -> tuple[str, str | None]:
    return await _raw_row(ctx, "issuers", issuer_id)


async def test_secret_is_masked_in_create_get_and_list(api: httpx.AsyncClient) -> None:
    """The token never comes back; its mask does, other fields are shown."""
    created = (await api.post("/api/v1/issuers", json=ACME)).json()
    fetched = (await api.get(f"/api/v1/issuers/{created['id']}")).json()
    listed = (await api.get("/api/v1/issuers")).json()["data"][0]
    for body in (created, fetched, listed):
        assert body["config"] == {**PUBLIC, "eab_hmac_key": "********"}


async def test_secret_is_encrypted_at_rest(api: httpx.AsyncClient, ctx: AppContext) -> None:
    """The database holds only the mask and an AES-GCM blob that opens to the token."""
    created = (await api.post("/api/v1/issuers", json=ACME)).json()
    config, sealed = await _raw_issuer(ctx, created["id"])
    assert "TOPSECRET" not in config
    assert sealed is not None
    assert "TOPSECRET" not in sealed
    assert open_secrets(sealed, ctx.runtime.sealer) == {"eab_hmac_key": "TOPSECRET"}


async def test_mask_on_update_keeps_the_stored_secret(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Sending `********` back (as a form would) keeps the token; a new value replaces it."""
    created = (await api.post("/api/v1/issuers", json=ACME)).json()
    masked = {
        **PUBLIC,
        "directory_url": "https://acme2.example.com/dir",
        "eab_hmac_key": "********",
    }
    response = await api.patch(f"/api/v1/issuers/{created['id']}", json={"config": masked})
    assert response.status_code == 200
    _, sealed = await _raw_issuer(ctx, created["id"])
    assert open_secrets(sealed, ctx.runtime.sealer) == {"eab_hmac_key": "TOPSECRET"}
    await api.patch(
        f"/api/v1/issuers/{created['id']}", json={"config": {**PUBLIC, "eab_hmac_key": "NEW"}}
    )
    _, sealed = await _raw_issuer(ctx, created["id"])
    assert open_secrets(sealed, ctx.runtime.sealer) == {"eab_hmac_key": "NEW"}


async def test_mask_without_stored_value_is_400(api: httpx.AsyncClient) -> None:
    """A mask on create has nothing to keep and is refused naming the field."""
    body = {**ACME, "config": {**PUBLIC, "eab_hmac_key": "********"}}
    response = await api.post("/api/v1/issuers", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == "config.eab_hmac_key"


async def test_secret_never_reaches_the_audit_trail(api: httpx.AsyncClient) -> None:
    """The issuer_created audit row carries the mask, not the token."""
    await api.post("/api/v1/issuers", json=ACME)
    rows = (await api.get("/api/v1/audit?action=issuer_created")).json()["data"]
    assert len(rows) == 1
    assert "TOPSECRET" not in str(rows[0])
    assert rows[0]["details"]["config"]["eab_hmac_key"] == "[REDACTED]"


@pytest.mark.parametrize("key", ["password", "routing_key", "webhook_url"])
async def test_target_configs_take_no_secrets(api: httpx.AsyncClient, key: str) -> None:
    """A target config has only typed keys: a secret-named one is refused and nothing stored."""
    config = {"cert_path": "/etc/x.pem", key: "hunter2"}
    response = await api.post(
        "/api/v1/targets", json={"name": "f5", "type": "File", "config": config}
    )
    assert response.status_code == 400
    assert response.json()["field"] == f"config.{key}"
    assert (await api.get("/api/v1/targets")).json()["data"] == []
