"""Loosening a certificate control needs an admin; an operator gets 403 and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest

from .conftest import MakeCert, approval_profile

ClientFor = Callable[[str | None], httpx.AsyncClient]

STRICT = {
    "name": "strict",
    "requires_approval": True,
    "must_staple": True,
    "max_ttl_seconds": 86400 * 30,
    "allowed_key_algorithms": [{"algorithm": "RSA", "min_size": 3072}],
    "allowed_ekus": ["serverAuth"],
    "required_san_patterns": [r".*\.example\.com", r".*\.example\.org"],
}

WEAKENING = [
    ({"requires_approval": False}, "requires_approval"),
    ({"must_staple": False}, "must_staple"),
    ({"allow_short_lived": True}, "allow_short_lived"),
    ({"max_ttl_seconds": 86400 * 90}, "max_ttl_seconds"),
    ({"max_ttl_seconds": 0}, "max_ttl_seconds"),
    (
        {"allowed_key_algorithms": [{"algorithm": "RSA", "min_size": 2048}]},
        "allowed_key_algorithms",
    ),
    (
        {
            "allowed_key_algorithms": [
                {"algorithm": "RSA", "min_size": 3072},
                {"algorithm": "ECDSA", "min_size": 256},
            ]
        },
        "allowed_key_algorithms",
    ),
    ({"allowed_ekus": ["serverAuth", "clientAuth"]}, "allowed_ekus"),
    ({"required_san_patterns": []}, "required_san_patterns"),
    ({"required_san_patterns": [r".*\.example\.com", ".*"]}, "required_san_patterns"),
]


async def _strict_profile(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.post("/api/v1/profiles", json=STRICT)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(("change", "field"), WEAKENING)
async def test_operator_cannot_weaken_a_profile(
    api: httpx.AsyncClient, make_client: ClientFor, change: dict[str, Any], field: str
) -> None:
    """Each loosening PATCH by an operator is 403 naming the field; the profile is unchanged."""
    profile = await _strict_profile(api)
    response = await make_client("operator").patch(f"/api/v1/profiles/{profile['id']}", json=change)
    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"only an admin may weaken the controls of certificate profile {profile['id']!r}: {field}"
    )
    assert (await api.get(f"/api/v1/profiles/{profile['id']}")).json() == profile


@pytest.mark.parametrize(("change", "field"), WEAKENING)
async def test_admin_may_weaken_a_profile(
    api: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    """The same change by an admin is applied."""
    profile = await _strict_profile(api)
    response = await api.patch(f"/api/v1/profiles/{profile['id']}", json=change)
    assert response.status_code == 200
    assert response.json()[field] == change[field]


async def test_operator_may_tighten_a_profile(
    api: httpx.AsyncClient, make_client: ClientFor
) -> None:
    """Stricter settings and unrelated fields stay an operator's to change."""
    profile = await _strict_profile(api)
    change = {
        "description": "tighter",
        "max_ttl_seconds": 86400 * 7,
        "allowed_key_algorithms": [{"algorithm": "RSA", "min_size": 4096}],
        "required_san_patterns": [r".*\.example\.com"],
    }
    response = await make_client("operator").patch(f"/api/v1/profiles/{profile['id']}", json=change)
    assert response.status_code == 200
    assert {k: response.json()[k] for k in change} == change


async def test_refused_switch_keeps_the_renewal_awaiting_approval(
    api: httpx.AsyncClient, make_client: ClientFor, make_cert: MakeCert, ctx: AppContext
) -> None:
    """After a refused approval switch-off, the operator's renewal still awaits approval."""
    operator = make_client("operator")
    profile_id = await approval_profile(api)
    cert = await make_cert(certificate_profile_id=profile_id)
    refused = await operator.patch(
        f"/api/v1/profiles/{profile_id}", json={"requires_approval": False}
    )
    assert refused.status_code == 403
    job = await operator.post(f"/api/v1/certificates/{cert['id']}/renew")
    assert (job.status_code, job.json()["status"]) == (202, "AwaitingApproval")
    page = await ctx.audit.search(
        SYSTEM_CALLER, request=PageRequest(), filters=AuditFilter(resource_id=profile_id)
    )
    assert sorted(e.action for e in page.items) == [
        "certificate_profile_created",
        "certificate_profile_update_denied",
    ]


async def test_operator_cannot_point_a_policy_at_a_laxer_profile(
    api: httpx.AsyncClient, make_client: ClientFor
) -> None:
    """Swapping a policy's profile for one without approval, or for none, is 403 for an operator."""
    operator = make_client("operator")
    strict = await _strict_profile(api)
    lax = (await api.post("/api/v1/profiles", json={"name": "lax"})).json()
    policy = (
        await api.post(
            "/api/v1/renewal-policies", json={"name": "p", "certificate_profile_id": strict["id"]}
        )
    ).json()
    for target in (lax["id"], None):
        response = await operator.patch(
            f"/api/v1/renewal-policies/{policy['id']}", json={"certificate_profile_id": target}
        )
        assert response.status_code == 403
        assert "requires_approval" in response.json()["detail"]
    assert (await api.get(f"/api/v1/renewal-policies/{policy['id']}")).json() == policy
    admin = await api.patch(
        f"/api/v1/renewal-policies/{policy['id']}", json={"certificate_profile_id": lax["id"]}
    )
    assert (admin.status_code, admin.json()["certificate_profile_id"]) == (200, lax["id"])
    tighten = await operator.patch(
        f"/api/v1/renewal-policies/{policy['id']}", json={"certificate_profile_id": strict["id"]}
    )
    assert tighten.status_code == 200


async def test_operator_cannot_move_a_certificate_off_its_approval_profile(
    api: httpx.AsyncClient, make_client: ClientFor, make_cert: MakeCert
) -> None:
    """Leaving the approval profile in force is 403 for an operator; keeping it in force is not."""
    operator = make_client("operator")
    profile_id = await approval_profile(api)
    policy = (
        await api.post(
            "/api/v1/renewal-policies", json={"name": "p", "certificate_profile_id": profile_id}
        )
    ).json()
    cert = await make_cert(certificate_profile_id=profile_id, renewal_policy_id=policy["id"])
    response = await operator.patch(
        f"/api/v1/certificates/{cert['id']}",
        json={"certificate_profile_id": None, "renewal_policy_id": None},
    )
    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"only an admin may weaken the controls of certificate {cert['id']!r} "
        "(its profile in force): requires_approval"
    )
    kept = (await api.get(f"/api/v1/certificates/{cert['id']}")).json()
    assert (kept["certificate_profile_id"], kept["renewal_policy_id"]) == (profile_id, policy["id"])
    via_policy = await operator.patch(
        f"/api/v1/certificates/{cert['id']}", json={"certificate_profile_id": None}
    )
    assert via_policy.status_code == 200
