"""The permission matrix: every route of the OpenAPI document, for each of the five roles.

The routes are enumerated from the application and checked against the OpenAPI document, so
a new route without a row in `EXPECTED` fails the test until its allowed roles are stated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.testing.routes import api_routes

ROLES = ("admin", "operator", "viewer", "auditor", "agent")
PUBLIC = frozenset({"anonymous", *ROLES})
EVERY_KEY = frozenset(ROLES)
ADMIN = frozenset({"admin"})
WRITE = frozenset({"admin", "operator"})
READ = frozenset({"admin", "operator", "viewer"})
AUDIT = frozenset({"admin", "operator", "viewer", "auditor"})
VERIFY = frozenset({"admin", "auditor"})


def _crud(collection: str) -> dict[tuple[str, str], frozenset[str]]:
    item = f"{collection}/{{resource_id}}"
    return {
        ("GET", collection): READ,
        ("POST", collection): WRITE,
        ("GET", item): READ,
        ("PUT", item): WRITE,
        ("PATCH", item): WRITE,
        ("DELETE", item): WRITE,
    }


V1 = "/api/v1"
CERT = f"{V1}/certificates/{{resource_id}}"
NOBODY: frozenset[str] = frozenset()
AGENT = f"{V1}/agents/{{agent_id}}"
# Routes that take an agent credential: every API key is unknown there (401).
AGENT_PROTOCOL = (
    ("POST", f"{AGENT}/heartbeat"),
    ("GET", f"{AGENT}/work"),
    ("POST", f"{AGENT}/csr"),
    ("GET", f"{AGENT}/certificates/{{cert_id}}"),
    ("POST", f"{AGENT}/jobs/{{job_id}}/status"),
    ("POST", f"{AGENT}/discoveries"),
)
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/.well-known/pki/ca/{issuer_id}"): PUBLIC,
    ("GET", "/.well-known/pki/ca/{issuer_id}.cer"): PUBLIC,
    ("GET", "/.well-known/pki/crl/{issuer_id}"): PUBLIC,
    ("POST", "/.well-known/pki/ocsp/{issuer_id}"): PUBLIC,
    ("GET", "/.well-known/pki/ocsp/{issuer_id}/{encoded}"): PUBLIC,
    ("GET", f"{V1}/metrics/prometheus"): EVERY_KEY,
    ("GET", f"{V1}/audit"): AUDIT,
    ("GET", f"{V1}/audit/verify"): VERIFY,
    ("GET", f"{V1}/stats/summary"): READ,
    ("GET", f"{V1}/crl"): READ,
    ("GET", f"{V1}/api-keys"): ADMIN,
    ("POST", f"{V1}/api-keys"): ADMIN,
    ("DELETE", f"{V1}/api-keys/{{resource_id}}"): ADMIN,
    ("GET", f"{V1}/admin/loops"): ADMIN,
    ("POST", f"{V1}/admin/loops/{{resource_id}}/run"): ADMIN,
    **_crud(f"{V1}/teams"),
    **_crud(f"{V1}/owners"),
    **_crud(f"{V1}/renewal-policies"),
    **_crud(f"{V1}/profiles"),
    **_crud(f"{V1}/issuers"),
    **_crud(f"{V1}/targets"),
    **_crud(f"{V1}/agent-groups"),
    **_crud(f"{V1}/notification-channels"),
    **_crud(f"{V1}/certificates"),
    **_crud(f"{V1}/silences"),
    **_crud(f"{V1}/quiet-hours"),
    ("POST", f"{V1}/silences/{{resource_id}}/expire"): WRITE,
    **_crud(f"{V1}/route-overrides"),
    ("GET", f"{CERT}/route"): READ,
    ("POST", f"{V1}/notification-channels/{{resource_id}}/test"): WRITE,
    ("POST", f"{V1}/notification-channels/environment/{{channel}}/test"): WRITE,
    ("POST", f"{V1}/issuers/{{issuer_id}}/test"): WRITE,
    ("GET", "/.well-known/acme-challenge/{token}"): PUBLIC,
    ("GET", f"{V1}/notifications"): READ,
    ("GET", f"{V1}/notifications/{{resource_id}}"): READ,
    ("POST", f"{V1}/notifications/{{resource_id}}/read"): WRITE,
    ("POST", f"{V1}/notifications/{{resource_id}}/requeue"): WRITE,
    ("GET", f"{V1}/alerts"): READ,
    ("GET", f"{V1}/alerts/forecast"): READ,
    ("GET", f"{V1}/alerts/{{resource_id}}"): READ,
    ("POST", f"{V1}/alerts/{{resource_id}}/ack"): WRITE,
    ("POST", f"{V1}/alerts/{{resource_id}}/resolve"): WRITE,
    ("POST", f"{V1}/certificates/import"): WRITE,
    ("POST", f"{V1}/certificates/bulk-renew"): WRITE,
    ("POST", f"{V1}/certificates/bulk-revoke"): ADMIN,
    ("POST", f"{CERT}/csr"): WRITE,
    ("POST", f"{CERT}/renew"): WRITE,
    ("POST", f"{CERT}/revoke"): WRITE,
    ("GET", f"{CERT}/versions"): READ,
    ("GET", f"{CERT}/alert-route"): READ,
    ("GET", f"{CERT}/versions/{{version_id}}"): READ,
    ("GET", f"{CERT}/versions/{{version_id}}/pem"): READ,
    ("GET", f"{V1}/jobs"): READ,
    ("GET", f"{V1}/jobs/{{resource_id}}"): READ,
    ("POST", f"{V1}/jobs/{{resource_id}}/approve"): WRITE,
    ("POST", f"{V1}/jobs/{{resource_id}}/reject"): WRITE,
    ("POST", f"{V1}/jobs/{{resource_id}}/cancel"): WRITE,
    ("GET", f"{V1}/agents"): READ,
    ("GET", f"{V1}/agents/{{resource_id}}"): READ,
    ("POST", f"{V1}/agents/{{resource_id}}/retire"): WRITE,
    ("GET", f"{V1}/discoveries"): READ,
    ("GET", f"{V1}/discoveries/summary"): READ,
    ("GET", f"{V1}/discoveries/{{resource_id}}"): READ,
    ("POST", f"{V1}/discoveries/{{resource_id}}/claim"): WRITE,
    ("POST", f"{V1}/discoveries/{{resource_id}}/dismiss"): WRITE,
    ("GET", f"{V1}/discovery-scans"): READ,
    ("POST", f"{V1}/discovery-scans"): WRITE,
    ("GET", f"{V1}/discovery-scans/{{resource_id}}"): READ,
    ("GET", f"{V1}/drift"): READ,
    ("POST", f"{CERT}/deploy"): WRITE,
    # Registration takes the bootstrap token, never an API key (none is configured here).
    ("POST", f"{V1}/agents"): NOBODY,
    **dict.fromkeys(AGENT_PROTOCOL, NOBODY),
}

# Bodies valid enough to reach the permission check behind the schema validation.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", f"{V1}/api-keys"): {"name": "matrix-probe", "role": "viewer"},
    ("POST", f"{V1}/certificates/bulk-revoke"): {"certificate_ids": ["mc-none"]},
    ("POST", f"{V1}/certificates/bulk-renew"): {"certificate_ids": ["mc-none"]},
    ("POST", f"{V1}/agents/{{resource_id}}/retire"): {"reason": "matrix probe"},
    ("POST", f"{V1}/jobs/{{resource_id}}/reject"): {"reason": "matrix probe"},
    ("POST", f"{V1}/discoveries/{{resource_id}}/dismiss"): {"reason": "matrix probe"},
    ("POST", f"{V1}/discovery-scans"): {"cidrs": ["10.0.0.1"], "ports": [443]},
    ("POST", f"{V1}/agents"): {"name": "matrix-probe"},
    ("POST", f"{V1}/alerts/{{resource_id}}/resolve"): {"reason": "matrix probe"},
}


def _schema_routes(app_routes: list[Any]) -> set[tuple[str, str]]:
    return {
        (method, re.sub(r":path\}", "}", route.path))
        for route in app_routes
        if route.include_in_schema
        for method in route.methods
    }


async def test_the_matrix_names_every_route_of_the_openapi_document(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """The table, the application's routes and the OpenAPI document list the same operations."""
    spec = (await api.get("/api/v1/openapi.json")).json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert _schema_routes(api_routes(create_app(ctx))) == documented
    assert set(EXPECTED) == documented


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
async def test_each_role_is_refused_exactly_where_the_matrix_says(
    make_client: Callable[[str | None], httpx.AsyncClient], role: str
) -> None:
    """Refused roles get 403 (anonymous 401); allowed roles never get 401 or 403."""
    client = make_client(None if role == "anonymous" else role)
    seen: dict[tuple[str, str], int] = {}
    for method, path in EXPECTED:
        body = BODIES.get((method, path), {}) if method in {"POST", "PUT", "PATCH"} else None
        answer = await client.request(method, _concrete(path), json=body)
        seen[(method, path)] = answer.status_code
    refused = {key: status for key, status in seen.items() if status in (401, 403)}
    denial = 401 if role == "anonymous" else 403
    assert refused == {
        key: 401 if key in AGENT_PROTOCOL else denial
        for key, allowed in EXPECTED.items()
        if role not in allowed
    }
