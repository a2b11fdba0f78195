"""The client commands over real HTTP against a `certctl serve` process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from certctl.pki.mint import make_ca, mint_leaf
from certctl.testing.keys import KEYS

from .conftest import LiveServer, fields, invoke


def _import(server: LiveServer, cn: str, days_left: int) -> dict[str, object]:
    now = datetime.now(UTC)
    pem = mint_leaf(
        make_ca("Live CA", now - timedelta(days=1)),
        common_name=cn,
        sans=[cn],
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=days_left),
    )
    response = httpx.post(
        f"{server.url}/api/v1/certificates/import",
        json={"pem": pem},
        headers={"Authorization": f"Bearer {KEYS['admin']}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()["certificate"]
    return created


def test_list_and_status_over_http(live_server: LiveServer) -> None:
    """`certs list --output json` equals the API; `status` counts the same certificates."""
    _import(live_server, "live.example.com", 20)
    _import(live_server, "later.example.com", 200)
    env = {"CERTCTL_SERVER_URL": live_server.url, "CERTCTL_API_KEY": KEYS["viewer"]}
    listed = invoke(["certs", "list", "--output", "json"], env)
    assert listed.code == 0, listed.stderr
    expected = httpx.get(
        f"{live_server.url}/api/v1/certificates",
        headers={"Authorization": f"Bearer {KEYS['viewer']}"},
        timeout=10,
    ).json()
    assert listed.json() == expected
    status = invoke(["status"], {**env, "COLUMNS": "200"})
    shown = fields(status.stdout)
    assert (shown["Server"], shown["Certificates"], shown["Expiring in 30 days"]) == (
        live_server.url,
        "2",
        "1",
    )
