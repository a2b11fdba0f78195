"""The list's items are exactly what reading each certificate answers (the database may
encode the page itself): every field, instants to the microsecond, empty and null values."""

from __future__ import annotations

from datetime import timedelta

import httpx

from certctl.clock import FrozenClock

NGINX = {"cert_path": "/etc/nginx/tls/edge.pem", "key_path": "/etc/nginx/tls/edge.key"}


async def _create(api: httpx.AsyncClient, body: dict[str, object]) -> str:
    response = await api.post("/api/v1/certificates", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_each_listed_item_equals_the_certificate_read_by_id(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """Names with quotes, backslashes and non-ASCII text, tags, SANs, targets, instants with
    and without a fraction of a second, and nulls list exactly as they read one by one."""
    target = await api.post(
        "/api/v1/targets", json={"name": "edge", "type": "NGINX", "config": NGINX}
    )
    assert target.status_code == 201, target.text
    ids = [
        await _create(
            api,
            {
                "name": 'api é ✓ "quoted" back\\slash',
                "common_name": "api.example.com",
                "sans": ["api.example.com", "www.example.com"],
                "environment": "production",
                "tags": {"app": "api", "tier": "web ✓"},
                "expires_at": "2026-07-01T10:00:00.120000Z",
                "target_ids": [target.json()["id"]],
            },
        )
    ]
    clock.advance(timedelta(microseconds=1))
    ids.append(await _create(api, {"name": "bare", "common_name": "bare.example.com", "sans": []}))
    clock.advance(timedelta(seconds=1, microseconds=-1))
    ids.append(
        await _create(
            api,
            {
                "name": "whole",
                "common_name": "whole.example.com",
                "expires_at": "2026-08-01T00:00:00Z",
            },
        )
    )
    listed = await api.get("/api/v1/certificates", params={"sort": "name", "per_page": 2})
    rest = await api.get("/api/v1/certificates", params={"sort": "name", "per_page": 2, "page": 2})
    past = await api.get("/api/v1/certificates", params={"per_page": 2, "page": 9})
    read = [(await api.get(f"/api/v1/certificates/{cert_id}")).json() for cert_id in ids]
    for one in read:
        assert one.pop("renewal_info") is None
    items = listed.json()["data"] + rest.json()["data"]
    assert [item.pop("renewal_info") for item in items] == [None, None, None]
    assert items == sorted(read, key=lambda cert: cert["name"])
    assert [list(item) for item in items] == [
        list(one) for one in sorted(read, key=lambda c: c["name"])
    ]
    assert {k: v for k, v in listed.json().items() if k != "data"} == {
        "total": 3,
        "page": 1,
        "per_page": 2,
    }
    assert past.json() == {"data": [], "total": 3, "page": 9, "per_page": 2}
    assert [item["created_at"] for item in items] == [
        "2026-06-01T12:00:00Z",
        "2026-06-01T12:00:00.000001Z",
        "2026-06-01T12:00:01Z",
    ]
