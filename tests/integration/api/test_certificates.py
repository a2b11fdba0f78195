"""Managed certificates: import from PEM, filters and sort, lifecycle edits, archive, versions."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.pki.mint import make_ca, mint_leaf
from certctl.testing.clock import TEST_EPOCH


def leaf_pem(cn: str, *, days_left: float, sans: list[str] | None = None) -> str:
    """A CA-signed leaf expiring `days_left` days after TEST_EPOCH (leaf then CA)."""
    ca = make_ca("Test CA", TEST_EPOCH)
    not_after = TEST_EPOCH + timedelta(days=days_left)
    return mint_leaf(
        ca,
        common_name=cn,
        sans=sans or [cn],
        not_before=not_after - timedelta(days=90),
        not_after=not_after,
    )


async def test_import_creates_certificate_and_version_from_its_facts(
    api: httpx.AsyncClient,
) -> None:
    """The record takes CN, SANs and expiry from the PEM; the version keeps serial and chain."""
    pem = leaf_pem("api.example.com", days_left=60, sans=["api.example.com", "api2.example.com"])
    response = await api.post(
        "/api/v1/certificates/import", json={"pem": pem, "environment": "prod"}
    )
    assert response.status_code == 201
    cert, version = response.json()["certificate"], response.json()["version"]
    assert cert["name"] == "api.example.com"
    assert cert["common_name"] == "api.example.com"
    assert cert["sans"] == ["api.example.com", "api2.example.com"]
    assert cert["status"] == "Active"
    assert cert["source"] == "import"
    assert cert["environment"] == "prod"
    assert cert["expires_at"] == "2026-07-31T12:00:00Z"
    assert version["not_after"] == cert["expires_at"]
    assert len(version["fingerprint_sha256"]) == 64
    assert version["key_algorithm"] == "ECDSA"
    assert version["key_size"] == 256
    assert version["pem_chain"].count("BEGIN CERTIFICATE") == 2


@pytest.mark.parametrize(
    ("days_left", "status"), [(60, "Active"), (29, "Expiring"), (0.5, "Expiring"), (-1, "Expired")]
)
async def test_import_status_follows_expiry(
    api: httpx.AsyncClient, days_left: float, status: str
) -> None:
    """Imported certificates start Active, Expiring (within 30 days) or Expired."""
    response = await api.post(
        "/api/v1/certificates/import", json={"pem": leaf_pem("a.example.com", days_left=days_left)}
    )
    assert response.json()["certificate"]["status"] == status


async def test_import_uses_the_policy_renewal_window(api: httpx.AsyncClient) -> None:
    """With a 10-day renewal window, 20 days left is still Active."""
    await api.post(
        "/api/v1/renewal-policies", json={"id": "rp-10", "name": "p", "renewal_window_days": 10}
    )
    response = await api.post(
        "/api/v1/certificates/import",
        json={"pem": leaf_pem("a.example.com", days_left=20), "renewal_policy_id": "rp-10"},
    )
    assert response.json()["certificate"]["status"] == "Active"
    assert response.json()["certificate"]["renewal_policy_id"] == "rp-10"


@pytest.mark.parametrize(
    ("pem", "detail"),
    [
        ("hello", "no PEM CERTIFICATE block found"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "certificate #1 in the PEM does not parse",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "PEM contains a private key",
        ),
    ],
)
async def test_bad_pem_is_400_naming_the_problem(
    api: httpx.AsyncClient, pem: str, detail: str
) -> None:
    """Garbage, a corrupt block or a private key are refused with the reason and field `pem`."""
    response = await api.post("/api/v1/certificates/import", json={"pem": pem})
    assert response.status_code == 400
    assert response.json()["field"] == "pem"
    assert response.json()["detail"].startswith(detail)
    assert (await api.get("/api/v1/certificates")).json()["total"] == 0


async def test_importing_the_same_certificate_twice_is_409(api: httpx.AsyncClient) -> None:
    """The fingerprint identifies a certificate already under management."""
    pem = leaf_pem("a.example.com", days_left=60)
    first = await api.post("/api/v1/certificates/import", json={"pem": pem})
    second = await api.post("/api/v1/certificates/import", json={"pem": pem, "name": "other"})
    assert second.status_code == 409
    assert first.json()["certificate"]["id"] in second.json()["detail"]
    assert (await api.get("/api/v1/certificates")).json()["total"] == 1


async def _seed(api: httpx.AsyncClient, clock: FrozenClock) -> None:
    rows = [
        ("c-active", "Active", 80, "production"),
        ("c-exp-soon", "Expiring", 3, "production"),
        ("c-exp-later", "Expiring", 20, "staging"),
        ("c-expired", "Expired", -2, "production"),
        ("c-pending", "Pending", None, "staging"),
    ]
    for name, status, days, env in rows:
        expires = None if days is None else (clock.now() + timedelta(days=days)).isoformat()
        response = await api.post(
            "/api/v1/certificates",
            json={
                "id": name,
                "name": name,
                "common_name": f"{name}.example.com",
                "status": status,
                "expires_at": expires,
                "environment": env,
            },
        )
        assert response.status_code == 201


async def test_filter_by_status_sorted_by_expiry(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """`?status=Expiring&sort=expires_at` lists expiring certificates soonest first."""
    await _seed(api, clock)
    page = (await api.get("/api/v1/certificates?status=Expiring&sort=expires_at")).json()
    assert [c["id"] for c in page["data"]] == ["c-exp-soon", "c-exp-later"]
    assert page["total"] == 2


async def test_several_statuses_and_descending_sort(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """Comma-separated statuses combine; `-expires_at` sorts latest first, nulls last."""
    await _seed(api, clock)
    page = (
        await api.get("/api/v1/certificates?status=Active,Expired,Pending&sort=-expires_at")
    ).json()
    assert [c["id"] for c in page["data"]] == ["c-active", "c-expired", "c-pending"]


async def test_expiry_window_and_environment_filters(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """expires_before/after and environment narrow the list."""
    await _seed(api, clock)
    before = (clock.now() + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    after = clock.now().isoformat().replace("+00:00", "Z")
    page = (
        await api.get(
            "/api/v1/certificates",
            params={"expires_before": before, "expires_after": after, "environment": "production"},
        )
    ).json()
    assert [c["id"] for c in page["data"]] == ["c-exp-soon"]


async def test_unknown_status_filter_is_400(api: httpx.AsyncClient) -> None:
    """A status outside the enum is refused naming `status`."""
    response = await api.get("/api/v1/certificates?status=Expring")
    assert response.status_code == 400
    assert response.json()["field"] == "status"
    assert "'Expring'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("owner_id", "o-missing"),
        ("team_id", "t-missing"),
        ("issuer_id", "iss-missing"),
        ("renewal_policy_id", "rp-missing"),
        ("certificate_profile_id", "cp-missing"),
    ],
)
async def test_unknown_reference_is_400_naming_the_field(
    api: httpx.AsyncClient, field: str, value: str
) -> None:
    """Every reference must exist; nothing is created otherwise."""
    response = await api.post(
        "/api/v1/certificates", json={"name": "c", "common_name": "c.example.com", field: value}
    )
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert (await api.get("/api/v1/certificates")).json()["total"] == 0


async def test_target_links_are_stored_and_listed(api: httpx.AsyncClient) -> None:
    """target_ids round-trip through create, get and list."""
    await api.post(
        "/api/v1/targets",
        json={
            "id": "tgt-b",
            "name": "b",
            "type": "NGINX",
            "config": {"cert_path": "/etc/nginx/tls/a.crt", "key_path": "/etc/nginx/tls/a.key"},
        },
    )
    await api.post(
        "/api/v1/targets",
        json={"id": "tgt-a", "name": "a", "type": "File", "config": {"cert_path": "/srv/a.pem"}},
    )
    created = await api.post(
        "/api/v1/certificates",
        json={"name": "c", "common_name": "c.example.com", "target_ids": ["tgt-b", "tgt-a"]},
    )
    cert_id = created.json()["id"]
    assert (await api.get(f"/api/v1/certificates/{cert_id}")).json()["target_ids"] == [
        "tgt-a",
        "tgt-b",
    ]
    assert (await api.get("/api/v1/certificates")).json()["data"][0]["target_ids"] == [
        "tgt-a",
        "tgt-b",
    ]


async def test_new_certificate_cannot_start_revoked(api: httpx.AsyncClient) -> None:
    """Revoked and Archived are reached through their own actions only."""
    response = await api.post(
        "/api/v1/certificates",
        json={"name": "c", "common_name": "c.example.com", "status": "Revoked"},
    )
    assert response.status_code == 400
    assert response.json()["field"] == "status"


@pytest.mark.parametrize(
    ("start", "wanted", "code"),
    [
        ("Active", "Expiring", 200),
        ("Expired", "Active", 409),
        ("Active", "Revoked", 409),
        ("Active", "Archived", 409),
        ("Pending", "Expired", 409),
    ],
)
async def test_status_edits_follow_the_lifecycle(
    api: httpx.AsyncClient, start: str, wanted: str, code: int
) -> None:
    """Allowed status edits apply; forbidden ones are 409 and change nothing."""
    created = (
        await api.post(
            "/api/v1/certificates",
            json={"name": "c", "common_name": "c.example.com", "status": start},
        )
    ).json()
    response = await api.patch(f"/api/v1/certificates/{created['id']}", json={"status": wanted})
    assert response.status_code == code
    expected = wanted if code == 200 else start
    assert (await api.get(f"/api/v1/certificates/{created['id']}")).json()["status"] == expected


async def test_delete_archives_and_hides_from_default_list(api: httpx.AsyncClient) -> None:
    """DELETE answers the archived record; the default list hides it, include_archived shows it."""
    created = (
        await api.post("/api/v1/certificates", json={"name": "c", "common_name": "c.example.com"})
    ).json()
    archived = await api.delete(f"/api/v1/certificates/{created['id']}")
    assert archived.status_code == 200
    assert archived.json()["status"] == "Archived"
    assert (await api.get("/api/v1/certificates")).json()["total"] == 0
    assert (await api.get("/api/v1/certificates?include_archived=true")).json()["total"] == 1


async def test_archived_certificate_cannot_change_or_be_archived_again(
    api: httpx.AsyncClient,
) -> None:
    """Archive is terminal: a second DELETE and any edit are 409."""
    created = (
        await api.post("/api/v1/certificates", json={"name": "c", "common_name": "c.example.com"})
    ).json()
    await api.delete(f"/api/v1/certificates/{created['id']}")
    assert (await api.delete(f"/api/v1/certificates/{created['id']}")).status_code == 409
    edit = await api.patch(f"/api/v1/certificates/{created['id']}", json={"environment": "x"})
    assert edit.status_code == 409


async def test_versions_latest_and_pem(api: httpx.AsyncClient) -> None:
    """An imported certificate has one version reachable as `latest`, with its PEM."""
    pem = leaf_pem("a.example.com", days_left=60)
    imported = (await api.post("/api/v1/certificates/import", json={"pem": pem})).json()
    cert_id, version_id = imported["certificate"]["id"], imported["version"]["id"]
    versions = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()
    assert [v["id"] for v in versions["data"]] == [version_id]
    assert (versions["total"], versions["page"], versions["per_page"]) == (1, 1, 50)
    latest = (await api.get(f"/api/v1/certificates/{cert_id}/versions/latest")).json()
    assert latest["id"] == version_id
    served = await api.get(f"/api/v1/certificates/{cert_id}/versions/latest/pem")
    assert served.headers["content-type"] == "application/x-pem-file"
    assert served.text == imported["version"]["pem_chain"]


async def test_versions_answer_the_list_envelope_with_paging(api: httpx.AsyncClient) -> None:
    """Versions page like every list: page 2 of one version is empty with the true total."""
    imported = (
        await api.post(
            "/api/v1/certificates/import", json={"pem": leaf_pem("a.example.com", days_left=60)}
        )
    ).json()
    cert_id = imported["certificate"]["id"]
    second = await api.get(f"/api/v1/certificates/{cert_id}/versions?page=2&per_page=1")
    assert second.status_code == 200
    assert second.json() == {"data": [], "total": 1, "page": 2, "per_page": 1}


async def test_versions_of_unknown_certificate_is_404(api: httpx.AsyncClient) -> None:
    """The versions of a certificate that does not exist are a 404, not an empty page."""
    response = await api.get("/api/v1/certificates/mc-nope/versions")
    assert response.status_code == 404


async def test_version_of_certificate_without_versions_is_404(api: httpx.AsyncClient) -> None:
    """A hand-registered certificate has no `latest` version."""
    created = (
        await api.post("/api/v1/certificates", json={"name": "c", "common_name": "c.example.com"})
    ).json()
    response = await api.get(f"/api/v1/certificates/{created['id']}/versions/latest")
    assert response.status_code == 404


async def _seed_any_status(api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock) -> None:
    """Certificates in every status, set through the lifecycle the API allows."""
    rows = [
        ("c-failed", "Failed", 1),
        ("c-renewing", "RenewalInProgress", 2),
        ("c-expiring", "Expiring", 5),
        ("c-revoked", "Revoked", 3),
        ("c-expired", "Expired", -1),
        ("c-next-week", "Expiring", 8),
        ("c-later", "Active", 80),
    ]
    for name, status, days in rows:
        created = "Expired" if days < 0 else "Active"
        response = await api.post(
            "/api/v1/certificates",
            json={
                "id": name,
                "name": name,
                "common_name": f"{name}.example.com",
                "status": created,
                "expires_at": (clock.now() + timedelta(days=days)).isoformat(),
            },
        )
        assert response.status_code == 201
        if status not in (created, "Revoked"):
            changed = await api.patch(f"/api/v1/certificates/{name}", json={"status": status})
            assert changed.status_code == 200, changed.text
    await ctx.certificates.revoke(SYSTEM_CALLER, "c-revoked", reason="keyCompromise")
    await api.delete("/api/v1/certificates/c-later")


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("expires_within_days=7", ["c-failed", "c-renewing", "c-expiring"]),
        ("expires_within_days=30", ["c-failed", "c-renewing", "c-expiring", "c-next-week"]),
        ("expires_within_days=90", ["c-failed", "c-renewing", "c-expiring", "c-next-week"]),
        ("expires_within_days=7&status=Failed", ["c-failed"]),
        ("expires_within_days=7&status=Revoked", []),
        (
            "expires_within_days=90&include_archived=true",
            ["c-failed", "c-renewing", "c-expiring", "c-next-week"],
        ),
    ],
)
async def test_expires_within_days_counts_every_status_but_revoked_and_archived(
    api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock, query: str, ids: list[str]
) -> None:
    """Certificates expiring from now to N days ahead, whatever their status, soonest first."""
    await _seed_any_status(api, ctx, clock)
    page = (await api.get(f"/api/v1/certificates?{query}")).json()
    assert [c["id"] for c in page["data"]] == ids
    assert page["total"] == len(ids)


@pytest.mark.parametrize("value", ["0", "-3", "3651", "week"])
async def test_expires_within_days_out_of_range_is_400(api: httpx.AsyncClient, value: str) -> None:
    """A window outside 1-3650 days, or not a number, is refused naming the field."""
    response = await api.get(f"/api/v1/certificates?expires_within_days={value}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["expires_within_days"]
