"""The alert routes: list with filters, one with its deliveries, ack and resolve, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest
from certctl.testing.keys import KEYS

from .conftest import Receivers, make_cert

CRITICAL_PAGERDUTY = {"alert_thresholds_days": [0], "alert_channels": {"critical": ["PagerDuty"]}}


@pytest.fixture
async def client_for(actx: AppContext) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """API clients on the alerting context, by role."""
    app = create_app(actx)
    clients: list[httpx.AsyncClient] = []

    def make(role: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://certctl.test",
            headers={"Authorization": f"Bearer {KEYS[role]}"},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def open_alert(actx: AppContext, api: httpx.AsyncClient) -> dict[str, Any]:
    """The single open alert of a certificate at T-0 paging PagerDuty."""
    await make_cert(actx, policy=CRITICAL_PAGERDUTY)
    await actx.alerts.scan()
    listing = (await api.get("/api/v1/alerts", params={"state": "open"})).json()
    [alert] = listing["data"]
    return dict(alert)


async def test_ack_is_audited_and_stops_nothing(
    actx: AppContext,
    receivers: Receivers,
    clock: FrozenClock,
    client_for: Callable[[str], httpx.AsyncClient],
) -> None:
    """An acknowledged alert records who and when, is audited, and its failed trigger is still
    retried and delivered."""
    api = client_for("operator")
    receivers.http["PagerDuty"].fail_next(1, status=503)
    alert = await open_alert(actx, api)
    await actx.notifications.dispatch()
    answer = await api.post(f"/api/v1/alerts/{alert['id']}/ack")
    assert answer.status_code == 200
    assert (answer.json()["state"], answer.json()["acknowledged_by"]) == (
        "acknowledged",
        "operator-user",
    )
    clock.advance(timedelta(minutes=1))
    await actx.notifications.dispatch(retries=True)
    detail = (await api.get(f"/api/v1/alerts/{alert['id']}")).json()
    assert [(d["channel"], d["status"], d["attempts"]) for d in detail["deliveries"]] == [
        ("PagerDuty", "sent", 2)
    ]
    assert len(receivers.http["PagerDuty"].requests) == 2
    audit = await actx.audit.search(
        SYSTEM_CALLER,
        request=PageRequest(),
        filters=AuditFilter(action="alert_acknowledged"),
    )
    assert [(e.actor, e.resource_id) for e in audit.items] == [("operator-user", alert["id"])]


async def test_manual_resolve_is_audited_and_closes_the_incident(
    actx: AppContext, receivers: Receivers, client_for: Callable[[str], httpx.AsyncClient]
) -> None:
    """Resolving by hand records the reason, sends PagerDuty `resolve` and lowers the gauge."""
    api = client_for("operator")
    alert = await open_alert(actx, api)
    await actx.notifications.dispatch()
    answer = await api.post(
        f"/api/v1/alerts/{alert['id']}/resolve", json={"reason": "host decommissioned"}
    )
    await actx.notifications.dispatch()
    assert answer.status_code == 200
    assert (answer.json()["resolved_by"], answer.json()["resolve_reason"]) == (
        "operator-user",
        "host decommissioned",
    )
    actions = [r.json()["event_action"] for r in receivers.http["PagerDuty"].requests]
    assert actions == ["trigger", "resolve"]
    metrics = generate_latest(actx.metrics.registry).decode()
    assert 'certctl_alerts_open{tier="critical"} 0.0' in metrics


async def test_the_scan_sets_the_open_alerts_gauge_by_tier(
    actx: AppContext, client_for: Callable[[str], httpx.AsyncClient]
) -> None:
    """certctl_alerts_open counts open alerts per tier after a scan (defaults: 1/2/1)."""
    await make_cert(actx, policy={})
    await actx.alerts.scan()
    metrics = generate_latest(actx.metrics.registry).decode()
    for tier, count in (("informational", 1), ("warning", 2), ("critical", 1)):
        assert f'certctl_alerts_open{{tier="{tier}"}} {count}.0' in metrics


async def test_filters_narrow_the_list(
    actx: AppContext, client_for: Callable[[str], httpx.AsyncClient]
) -> None:
    """kind, tier and owner filters select exactly the matching alerts."""
    api = client_for("viewer")
    await make_cert(actx, policy={})
    await actx.alerts.scan()
    counts = {}
    for params in (
        {},
        {"tier": "warning"},
        {"kind": "expiry", "tier": "critical"},
        {"kind": "overdue"},
        {"owner_id": "o-alice"},
        {"team_id": "t-none"},
    ):
        answer = await api.get("/api/v1/alerts", params=params)
        counts[tuple(params.items())] = answer.json()["total"]
    assert list(counts.values()) == [4, 2, 1, 0, 4, 0]


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/alerts?state=closed", None, 400, "state"),
        ("/api/v1/alerts?kind=expiring", None, 400, "kind"),
        ("/api/v1/alerts?tier=urgent", None, 400, "tier"),
        ("/api/v1/alerts?sort=subject", None, 400, "sort"),
        ("/api/v1/alerts/al-missing", None, 404, None),
        ("/api/v1/alerts/al-missing/ack", {}, 404, None),
        ("/api/v1/alerts/al-missing/resolve", {"reason": "x"}, 404, None),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    client_for: Callable[[str], httpx.AsyncClient],
    path: str,
    body: dict[str, Any] | None,
    status: int,
    field: str | None,
) -> None:
    """Unknown filter values, sort fields and ids are refused with the field named."""
    api = client_for("operator")
    answer = await (api.get(path) if body is None else api.post(path, json=body))
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json().get("field") == field


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
async def test_resolve_needs_a_reason(
    actx: AppContext, client_for: Callable[[str], httpx.AsyncClient], body: dict[str, str]
) -> None:
    """Resolving without a reason is a 400 naming `reason` and changes nothing."""
    api = client_for("operator")
    alert = await open_alert(actx, api)
    answer = await api.post(f"/api/v1/alerts/{alert['id']}/resolve", json=body)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "reason"
    after = (await api.get(f"/api/v1/alerts/{alert['id']}")).json()
    assert after["state"] == "open"


async def test_acting_on_a_resolved_alert_is_a_conflict(
    actx: AppContext, client_for: Callable[[str], httpx.AsyncClient]
) -> None:
    """A resolved alert can be neither acknowledged nor resolved again (409)."""
    api = client_for("operator")
    alert = await open_alert(actx, api)
    path = f"/api/v1/alerts/{alert['id']}"
    assert (await api.post(f"{path}/resolve", json={"reason": "done"})).status_code == 200
    assert (await api.post(f"{path}/ack")).status_code == 409
    assert (await api.post(f"{path}/resolve", json={"reason": "again"})).status_code == 409


async def test_a_viewer_cannot_acknowledge(
    actx: AppContext, client_for: Callable[[str], httpx.AsyncClient]
) -> None:
    """Acknowledging needs write access: a viewer gets 403 and the alert stays open."""
    alert = await open_alert(actx, client_for("operator"))
    viewer = client_for("viewer")
    assert (await viewer.post(f"/api/v1/alerts/{alert['id']}/ack")).status_code == 403
    after = (await viewer.get(f"/api/v1/alerts/{alert['id']}")).json()
    assert after["state"] == "open"


@pytest.mark.parametrize(
    ("thresholds", "field"),
    [
        (["0%"], "alert_thresholds_days[0]"),
        ([30, "100%"], "alert_thresholds_days[1]"),
        ([7, "soon"], "alert_thresholds_days.1"),
        ([7, "7"], "alert_thresholds_days.1"),
        ([7, "10%", "10.0%"], "alert_thresholds_days"),
    ],
)
async def test_bad_percentage_thresholds_are_refused(
    client_for: Callable[[str], httpx.AsyncClient], thresholds: list[object], field: str
) -> None:
    """A percentage must be above 0 and below 100, once; the 400 names the field."""
    answer = await client_for("admin").post(
        "/api/v1/renewal-policies", json={"name": "pct", "alert_thresholds_days": thresholds}
    )
    assert answer.status_code == 400
    assert field in [e["field"] for e in answer.json()["errors"]]


async def test_a_mixed_threshold_list_is_stored_as_written(
    client_for: Callable[[str], httpx.AsyncClient],
) -> None:
    """[30, 7, "10%"] with a tier for "10%" is accepted and read back as written."""
    answer = await client_for("admin").post(
        "/api/v1/renewal-policies",
        json={
            "name": "mixed",
            "alert_thresholds_days": [30, 7, "10%"],
            "alert_severity_map": {"10%": "critical"},
        },
    )
    assert answer.status_code == 201, answer.text
    assert (answer.json()["alert_thresholds_days"], answer.json()["alert_severity_map"]) == (
        [30, 7, "10%"],
        {"10%": "critical"},
    )
