"""Stats summary and Prometheus metrics reflect the inventory."""

from __future__ import annotations

from datetime import timedelta

import httpx

from certctl.clock import FrozenClock


async def _cert(
    api: httpx.AsyncClient, name: str, status: str, days: float | None, clock: FrozenClock
) -> None:
    expires = None if days is None else (clock.now() + timedelta(days=days)).isoformat()
    response = await api.post(
        "/api/v1/certificates",
        json={
            "name": name,
            "common_name": f"{name}.example.com",
            "status": status,
            "expires_at": expires,
        },
    )
    assert response.status_code == 201


async def test_summary_counts_by_status_and_expiry(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """Totals per status, 30-day expiry count and zeros for features without data."""
    await _cert(api, "a", "Active", 90, clock)
    await _cert(api, "b", "Expiring", 10, clock)
    await _cert(api, "c", "Expiring", 29.9, clock)
    await _cert(api, "d", "Expired", -1, clock)
    await _cert(api, "e", "Pending", None, clock)
    archived = (await api.get("/api/v1/certificates?q=a.example")).json()["data"][0]["id"]
    await api.delete(f"/api/v1/certificates/{archived}")
    summary = (await api.get("/api/v1/stats/summary")).json()
    assert summary["total_certificates"] == 5
    assert summary["certificates_by_status"] == {
        "Pending": 1,
        "Active": 0,
        "Expiring": 2,
        "Expired": 1,
        "RenewalInProgress": 0,
        "Failed": 0,
        "Revoked": 0,
        "Archived": 1,
    }
    assert summary["expiring_in_30_days"] == 2
    assert (summary["agents_total"], summary["agents_online"], summary["notifications_dead"]) == (
        0,
        0,
        0,
    )


async def test_metrics_expose_certificates_by_status(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """/metrics and /api/v1/metrics/prometheus carry the status gauge and request counters."""
    await _cert(api, "a", "Active", 90, clock)
    await _cert(api, "b", "Active", 90, clock)
    for path in ("/metrics", "/api/v1/metrics/prometheus"):
        text = (await api.get(path)).text
        assert 'certctl_certificates{status="Active"} 2.0' in text
        assert 'certctl_certificates{status="Expired"} 0.0' in text
        assert (
            'certctl_http_requests_total{method="POST",route="/api/v1/certificates",status="201"} 2.0'
            in text
        )


async def test_prometheus_under_the_api_prefix_needs_a_key(make_client) -> None:  # type: ignore[no-untyped-def]
    """/api/v1/metrics/prometheus is an API route (401 without a key); /metrics is open."""
    anonymous = make_client(None)
    assert (await anonymous.get("/api/v1/metrics/prometheus")).status_code == 401
    assert (await anonymous.get("/metrics")).status_code == 200
