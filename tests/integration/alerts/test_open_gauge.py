"""The open-alerts gauge drops as soon as a revocation, an archive or a renewal resolves alerts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.testing.keys import KEYS

from .conftest import make_cert
from .test_alert_objects import PAGING, issued, renew

CRITICAL_PAGERDUTY = {"alert_thresholds_days": [0], "alert_channels": {"critical": ["PagerDuty"]}}


@pytest.fixture
async def admin(actx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """An admin API client on the alerting context."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(actx)),
        base_url="http://certctl.test",
        headers={"Authorization": f"Bearer {KEYS['admin']}"},
    ) as client:
        yield client


async def open_critical(admin: httpx.AsyncClient, tier: str = "critical") -> str:
    """The scrape's line of `tier` (the scrape is unauthenticated, as Prometheus calls it)."""
    text = (await admin.get("/metrics", headers={"Authorization": ""})).text
    [line] = [
        row
        for row in text.splitlines()
        if row.startswith("certctl_alerts_open{") and f'tier="{tier}"' in row
    ]
    return line


async def two_open_alerts(actx: AppContext) -> tuple[str, str]:
    """Two certificates at T-0, each with one open critical alert after a scan."""
    first = await make_cert(actx, policy=CRITICAL_PAGERDUTY, name="api-prod")
    second = await make_cert(actx, policy=CRITICAL_PAGERDUTY, name="web-prod")
    await actx.alerts.scan()
    return first, second


async def test_a_revocation_lowers_the_gauge_at_once(
    actx: AppContext, admin: httpx.AsyncClient
) -> None:
    """Revoking one of two alerted certificates sets the critical gauge from 2 to 1."""
    first, _ = await two_open_alerts(actx)
    assert await open_critical(admin) == 'certctl_alerts_open{tier="critical"} 2.0'
    answer = await admin.post(
        f"/api/v1/certificates/{first}/revoke", json={"reason": "keyCompromise"}
    )
    assert answer.status_code == 200, answer.text
    assert await open_critical(admin) == 'certctl_alerts_open{tier="critical"} 1.0'


async def test_an_archive_lowers_the_gauge_at_once(
    actx: AppContext, admin: httpx.AsyncClient
) -> None:
    """Archiving one of two alerted certificates sets the critical gauge from 2 to 1."""
    first, _ = await two_open_alerts(actx)
    assert await open_critical(admin) == 'certctl_alerts_open{tier="critical"} 2.0'
    answer = await admin.delete(f"/api/v1/certificates/{first}")
    assert answer.status_code == 200, answer.text
    assert await open_critical(admin) == 'certctl_alerts_open{tier="critical"} 1.0'


async def test_a_bulk_revocation_lowers_the_gauge_once_done(
    actx: AppContext, admin: httpx.AsyncClient
) -> None:
    """Revoking both alerted certificates in one bulk call sets the critical gauge to 0."""
    first, second = await two_open_alerts(actx)
    answer = await admin.post(
        "/api/v1/certificates/bulk-revoke",
        json={"certificate_ids": [first, second], "reason": "cessationOfOperation"},
    )
    assert (answer.status_code, answer.json()["total_enqueued"]) == (200, 2)
    assert await open_critical(admin) == 'certctl_alerts_open{tier="critical"} 0.0'


async def test_a_renewal_lowers_the_gauge_at_once(
    actx: AppContext, admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """A new version out of the alerted T-7 threshold sets the warning gauge from 1 to 0."""
    cert_id = await issued(
        actx,
        days=10,
        policy={"alert_thresholds_days": [7], "alert_channels": PAGING, "auto_renew": False},
    )
    clock.advance(timedelta(days=4))
    await actx.alerts.scan()
    assert await open_critical(admin, "warning") == 'certctl_alerts_open{tier="warning"} 1.0'
    await renew(actx, cert_id, days=30)
    assert await open_critical(admin, "warning") == 'certctl_alerts_open{tier="warning"} 0.0'
