"""The alert forecast against what the scan then sends, day by day, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.inventory import SECRET_MASK
from certctl.domain.listing import PageRequest
from certctl.services.alert_forecast import ForecastScope, alert_forecast
from certctl.services.notifications import NotificationFilter
from certctl.testing.keys import KEYS

from .conftest import Receivers, make_cert
from .test_alert_objects import issued

DAYS_POLICY = {
    "alert_thresholds_days": [14, 7, 1],
    "alert_severity_map": {"14": "informational", "7": "warning", "1": "critical"},
    "alert_channels": {
        "informational": ["Webhook"],
        "warning": ["Slack", "Webhook"],
        "critical": ["PagerDuty", "Slack"],
    },
    "auto_renew": False,
}
SHARE_POLICY = {
    "alert_thresholds_days": ["50%", "20%", 2],
    "alert_severity_map": {"50%": "informational", "20%": "warning", "2": "critical"},
    "alert_channels": {"informational": ["Slack"], "warning": ["Slack"], "critical": ["OpsGenie"]},
    "auto_renew": False,
}
Key = tuple[date, str, str, str]


async def sent_keys(ctx: AppContext) -> tuple[set[Key], set[Key]]:
    """(day, certificate, threshold, channel) of every expiry delivery, and the silenced ones."""
    page = await ctx.notifications.search(
        SYSTEM_CALLER, request=PageRequest(per_page=500), filters=NotificationFilter()
    )
    rows = [e for e in page.items if e.kind.value == "expiration"]
    every = {
        (e.created_at.date(), e.certificate_id or "", str(e.context["threshold"]), e.channel)
        for e in rows
    }
    silenced = {
        (e.created_at.date(), e.certificate_id or "", str(e.context["threshold"]), e.channel)
        for e in rows
        if e.silence_id is not None
    }
    return every, silenced


async def test_the_forecast_matches_what_the_scan_sends_over_30_days(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """The 30-day forecast equals, day by day, the deliveries the scan then makes when the
    clock advances one day at a time, silenced ones included."""
    web = await make_cert(actx, days=20.5, policy=DAYS_POLICY, name="web")
    api = await make_cert(actx, days=9.25, policy=DAYS_POLICY, name="api")
    short = await issued(actx, days=12, policy=SHARE_POLICY, name="short")
    long = await issued(actx, days=40, policy=SHARE_POLICY, name="long")
    await make_cert(actx, days=45, policy=DAYS_POLICY, name="later")
    silenced = await actx.silences.create(
        SYSTEM_CALLER,
        {
            "reason": "host being decommissioned",
            "ends_at": clock.now() + timedelta(days=9),
            "certificate_id": web,
            "channel": "Webhook",
        },
    )
    start = clock.now()
    found = await alert_forecast(actx.runtime, actx.settings, SYSTEM_CALLER, days=30)
    predicted = {
        (e.item.day, e.item.certificate_id, e.item.threshold, e.item.channel) for e in found.entries
    }
    predicted_silenced = {
        (e.item.day, e.item.certificate_id, e.item.threshold, e.item.channel)
        for e in found.entries
        if e.item.silence_id == silenced.id
    }
    for day in range(30):
        clock.set(start + timedelta(days=day))
        await actx.alerts.scan()
        await actx.notifications.dispatch()
    every, muted = await sent_keys(actx)
    assert predicted == every
    assert predicted_silenced == muted
    assert len(every) == 14
    assert {c for _, c, _, _ in every} == {web, api, short, long}
    assert muted == {(start.date() + timedelta(days=6), web, "14", "Webhook")}


async def test_the_forecast_skips_thresholds_already_alerted_and_filters(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A threshold whose alert exists is not forecast again; scope filters by certificate."""
    web = await make_cert(actx, days=10.5, policy=DAYS_POLICY, name="web")
    await make_cert(actx, days=3.5, policy=DAYS_POLICY, name="api")
    await actx.alerts.scan()
    found = await alert_forecast(
        actx.runtime, actx.settings, SYSTEM_CALLER, days=5, scope=ForecastScope(certificate_id=web)
    )
    assert [
        (e.item.day - clock.now().date(), e.item.threshold, e.item.channel) for e in found.entries
    ] == [
        (timedelta(days=3), "7", "Slack"),
        (timedelta(days=3), "7", "Webhook"),
    ]


@pytest.fixture
async def api(actx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """An API client with the viewer's key."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(actx)),
        base_url="http://certctl.test",
        headers={"Authorization": f"Bearer {KEYS['viewer']}"},
    ) as client:
        yield client


async def test_the_forecast_route_groups_by_day(
    actx: AppContext, receivers: Receivers, api: httpx.AsyncClient
) -> None:
    """The route lists every day with counts per tier and masked destinations."""
    web = await make_cert(actx, days=14.5, policy=DAYS_POLICY, name="web")
    answer = await api.get("/api/v1/alerts/forecast", params={"days": 3, "team_id": "t-plat"})
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    assert (body["days"], body["assumes_no_renewal"], body["total"]) == (3, True, 1)
    assert [d["counts"] for d in body["forecast"]] == [
        {"informational": 1, "warning": 0, "critical": 0},
        {"informational": 0, "warning": 0, "critical": 0},
        {"informational": 0, "warning": 0, "critical": 0},
    ]
    [item] = body["forecast"][0]["items"]
    assert (item["certificate_id"], item["threshold"], item["channel"], item["status"]) == (
        web,
        "14",
        "Webhook",
        "sends",
    )
    assert item["destination"] == f"url={receivers.http['Webhook'].url}"


@pytest.mark.parametrize("days", ["0", "91", "soon"])
async def test_bad_days_is_refused_naming_the_field(
    actx: AppContext, api: httpx.AsyncClient, days: str
) -> None:
    """A horizon outside 1-90 days, or not a number, answers 400 naming `days`."""
    answer = await api.get("/api/v1/alerts/forecast", params={"days": days})
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == ["days"]


async def test_overrides_name_the_destination_and_quiet_hours_hold_as_the_dispatcher_does(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A team's Slack override is the forecast destination (secret masked); a quiet window on
    Webhook forecasts `held_until` exactly when the dispatcher then holds the rows."""
    web = await make_cert(actx, days=7.5, policy=DAYS_POLICY, name="web")
    override = await actx.route_overrides.create(
        SYSTEM_CALLER,
        {
            "name": "platform slack",
            "channel": "Slack",
            "team_id": "t-plat",
            "tier": "warning",
            "config": {"webhook_url": "https://hooks.slack.example/T000/B000/secret"},
        },
    )
    await actx.quiet_hours.create(
        SYSTEM_CALLER,
        {
            "name": "webhook all day",
            "channel": "Webhook",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "23:59",
            "timezone": "UTC",
        },
    )
    found = await alert_forecast(actx.runtime, actx.settings, SYSTEM_CALLER, days=1)
    shown = [
        (e.item.threshold, e.item.channel, e.destination, e.override_id, e.item.held_until)
        for e in found.entries
    ]
    window_end = clock.now().replace(hour=23, minute=59, second=0, microsecond=0)
    assert shown == [
        ("14", "Webhook", f"url={receivers.http['Webhook'].url}", None, window_end),
        ("7", "Slack", f"webhook_url={SECRET_MASK}", override.id, None),
        ("7", "Webhook", f"url={receivers.http['Webhook'].url}", None, window_end),
    ]
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    page = await actx.notifications.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=50),
        filters=NotificationFilter(certificate_id=web, channel="Webhook"),
    )
    assert sorted((e.status.value, e.next_retry_at) for e in page.items) == [
        ("held", window_end),
        ("held", window_end),
    ]
