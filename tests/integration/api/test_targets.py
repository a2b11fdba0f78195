"""Saving a deployment target checks its config per type; a bad one is a 400 and stores nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

NGINX = {"cert_path": "/etc/nginx/tls/a.crt", "key_path": "/etc/nginx/tls/a.key"}


async def _create(
    api: httpx.AsyncClient, config: dict[str, Any], kind: str = "NGINX"
) -> httpx.Response:
    return await api.post("/api/v1/targets", json={"name": "edge", "type": kind, "config": config})


async def test_a_valid_config_is_stored_as_given(api: httpx.AsyncClient) -> None:
    """Defaults are applied when deploying, not written into the stored config."""
    config = {**NGINX, "reload_command": ["systemctl", "reload", "nginx"], "mode": "0640"}
    response = await _create(api, config)
    assert response.status_code == 201
    assert response.json()["config"] == config


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (
            {**NGINX, "reload_command": ["nginx", "-s", "reload;", "rm", "-rf", "/"]},
            "config.reload_command",
        ),
        ({**NGINX, "validate_command": ["nginx", "-t", "$(id)"]}, "config.validate_command"),
        ({**NGINX, "validate_command": "nginx -t"}, "config.validate_command"),
        ({"cert_path": "/etc/nginx/tls/a.crt"}, "config.key_path"),
        ({**NGINX, "cert_path": "tls/a.crt"}, "config.cert_path"),
        ({**NGINX, "verify_endpoint": "edge.example.com"}, "config.verify_endpoint"),
        ({**NGINX, "mode": "0644"}, "config.mode"),
        ({**NGINX, "reload_cmd": ["nginx"]}, "config.reload_cmd"),
        ({}, "config.cert_path"),
    ],
)
async def test_a_bad_config_is_refused_naming_the_key(
    api: httpx.AsyncClient, config: dict[str, Any], field: str
) -> None:
    """POST answers 400 problem+json naming `config.<key>`; no target and no audit row exist."""
    response = await _create(api, config)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert (await api.get("/api/v1/targets")).json()["total"] == 0
    audit = (await api.get("/api/v1/audit?action=deployment_target_created")).json()["data"]
    assert audit == []


async def test_haproxy_needs_its_combined_pem(api: httpx.AsyncClient) -> None:
    """An HAProxy target takes pem_path, not a separate certificate and key."""
    response = await _create(api, NGINX, kind="HAProxy")
    assert (response.status_code, response.json()["field"]) == (400, "config.pem_path")
    response = await _create(api, {"pem_path": "/etc/haproxy/certs/a.pem"}, kind="HAProxy")
    assert response.status_code == 201


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_an_update_with_a_bad_config_changes_nothing(
    api: httpx.AsyncClient, method: str
) -> None:
    """PUT and PATCH validate the new config against the stored type; the old one stays."""
    created = (await _create(api, NGINX)).json()
    bad = {**NGINX, "reload_command": ["systemctl", "reload", "nginx && id"]}
    body = {"name": "edge", "config": bad} if method == "PUT" else {"config": bad}
    response = await api.request(method, f"/api/v1/targets/{created['id']}", json=body)
    assert (response.status_code, response.json()["field"]) == (400, "config.reload_command")
    assert (await api.get(f"/api/v1/targets/{created['id']}")).json()["config"] == NGINX


async def test_an_update_without_config_does_not_revalidate(api: httpx.AsyncClient) -> None:
    """Changing only `enabled` leaves the stored config alone."""
    created = (await _create(api, NGINX)).json()
    response = await api.patch(f"/api/v1/targets/{created['id']}", json={"enabled": False})
    assert response.status_code == 200
    assert response.json()["config"] == NGINX
