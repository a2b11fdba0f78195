"""Authentication by Bearer API key and what each role may do."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from certctl.settings import Settings

Client = Callable[[str | None], httpx.AsyncClient]


async def test_missing_key_is_401_with_www_authenticate(make_client: Client) -> None:
    """No Authorization header: 401 problem with a Bearer challenge."""
    response = await make_client(None).get("/api/v1/teams")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="certctl"'
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "header", ["Bearer wrong-key", "Basic YWRtaW46YWRtaW4=", "Bearer ", "admin-key-0000000000"]
)
async def test_wrong_credentials_are_401(make_client: Client, header: str) -> None:
    """A wrong key, another scheme or an empty token are all refused."""
    client = make_client(None)
    response = await client.get("/api/v1/teams", headers={"Authorization": header})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "read", "write", "audit", "admin"),
    [
        ("admin", 200, 201, 200, 201),
        ("operator", 200, 201, 200, 403),
        ("viewer", 200, 403, 200, 403),
        ("auditor", 403, 403, 200, 403),
        ("agent", 403, 403, 403, 403),
    ],
)
async def test_role_matrix(
    make_client: Client, role: str, read: int, write: int, audit: int, admin: int
) -> None:
    """Each role gets exactly its permissions on reads, writes, the audit trail and admin routes."""
    client = make_client(role)
    assert (await client.get("/api/v1/teams")).status_code == read
    assert (await client.post("/api/v1/teams", json={"name": f"t-{role}"})).status_code == write
    assert (await client.get("/api/v1/audit")).status_code == audit
    created = await client.post("/api/v1/api-keys", json={"name": f"k-{role}", "role": "viewer"})
    assert created.status_code == admin


async def test_viewer_write_is_refused_before_body_validation(make_client: Client) -> None:
    """A viewer's invalid write is 403, not 400: the role is checked first."""
    response = await make_client("viewer").post("/api/v1/teams", json={"bogus": True})
    assert response.status_code == 403


async def test_stored_key_authenticates_until_revoked(make_client: Client) -> None:
    """A key created through the API works at once and stops working when revoked."""
    admin = make_client("admin")
    created = (await admin.post("/api/v1/api-keys", json={"name": "ci", "role": "operator"})).json()
    assert created["key"].startswith("cc_")
    assert "key_hash" not in created
    user = make_client(None)
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await user.get("/api/v1/teams", headers=headers)).status_code == 200
    assert (await admin.delete(f"/api/v1/api-keys/{created['id']}")).status_code == 200
    assert (await user.get("/api/v1/teams", headers=headers)).status_code == 401


async def test_stored_key_name_is_the_audit_actor(make_client: Client) -> None:
    """Writes made with a stored key are audited under that key's name."""
    admin = make_client("admin")
    created = (
        await admin.post("/api/v1/api-keys", json={"name": "deploy-bot", "role": "operator"})
    ).json()
    user = make_client(None)
    await user.post(
        "/api/v1/teams", json={"name": "x"}, headers={"Authorization": f"Bearer {created['key']}"}
    )
    rows = (await admin.get("/api/v1/audit?action=team_created")).json()["data"]
    assert [r["actor"] for r in rows] == ["deploy-bot"]


async def test_duplicate_stored_key_name_is_409(make_client: Client) -> None:
    """Key names are unique, also against keys configured in the environment."""
    admin = make_client("admin")
    await admin.post("/api/v1/api-keys", json={"name": "ci"})
    assert (await admin.post("/api/v1/api-keys", json={"name": "ci"})).status_code == 409
    assert (await admin.post("/api/v1/api-keys", json={"name": "viewer-user"})).status_code == 409


def test_auth_none_requires_demo_acknowledgement() -> None:
    """CERTCTL_AUTH_TYPE=none is refused unless CERTCTL_DEMO_MODE_ACK=true."""
    with pytest.raises(ValueError, match="CERTCTL_DEMO_MODE_ACK"):
        Settings(auth_type="none")
    assert Settings(auth_type="none", demo_mode_ack=True).auth_type == "none"
