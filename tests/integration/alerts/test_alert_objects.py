"""Alerts as objects (C3): auto-resolve, cancelled stale triggers, renewal-failure causes,
overdue alerts and percentage thresholds, counted at real receivers."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from certctl.bootstrap import AppContext, build_context
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.alert_lifecycle import Alert, AlertState
from certctl.domain.listing import PageRequest, SortKey
from certctl.domain.notifications import NotificationStatus
from certctl.pki.csr import make_csr
from certctl.services.alert_records import AlertFilter

from .conftest import Receivers, channel_settings, make_cert

NONE = {"Slack": 0, "Teams": 0, "PagerDuty": 0, "OpsGenie": 0, "Webhook": 0, "Email": 0}
PAGING = {"warning": ["PagerDuty", "OpsGenie"]}
"""Certificates not renewed by certctl (auto_renew off) raise no `overdue` alerts here."""


async def issued(
    ctx: AppContext, *, days: float, policy: dict[str, object], name: str = "api-prod"
) -> str:
    """A certificate on the local CA with a first version valid `days` from now."""
    cert_id = await make_cert(ctx, days=days, policy=policy, name=name)
    await ctx.issuers.create(
        SYSTEM_CALLER, {"id": f"iss-{name}", "name": f"CA {name}", "type": "GenericCA"}
    )
    await ctx.certificates.update(SYSTEM_CALLER, cert_id, {"issuer_id": f"iss-{name}"})
    await renew(ctx, cert_id, days=days, name=name)
    return cert_id


async def renew(ctx: AppContext, cert_id: str, *, days: float, name: str = "api-prod") -> str:
    """Issue a new version valid `days` from now; answers the version id."""
    host = f"{name}.example.com"
    csr_pem, _ = make_csr(host, (host,), "ECDSA-P256")
    _, version = await ctx.issuance.issue_from_csr(
        SYSTEM_CALLER, cert_id, csr_pem, ttl_seconds=int(days * 86400)
    )
    return version.id


async def alerts_of(ctx: AppContext, cert_id: str) -> list[Alert]:
    page = await ctx.alert_records.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=100),
        sort=SortKey("opened_at"),
        filters=AlertFilter(certificate_id=cert_id),
    )
    return list(page.items)


def bodies(receivers: Receivers, channel: str) -> list[Any]:
    return [r.json() for r in receivers.http[channel].requests]


async def test_renewal_resolves_the_pagerduty_incident_and_closes_the_opsgenie_alert(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A renewal out of T-7 sends PagerDuty `resolve` with the trigger's dedup_key and closes
    the OpsGenie alert by its alias."""
    cert_id = await issued(
        actx,
        days=10,
        policy={"alert_thresholds_days": [7], "alert_channels": PAGING, "auto_renew": False},
    )
    clock.advance(timedelta(days=4))
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    version = await renew(actx, cert_id, days=30)
    await actx.notifications.dispatch()
    assert receivers.counts() == {**NONE, "PagerDuty": 2, "OpsGenie": 2}
    trigger, resolve = bodies(receivers, "PagerDuty")
    assert trigger["event_action"] == "trigger"
    assert resolve == {
        "event_action": "resolve",
        "dedup_key": trigger["dedup_key"],
        "routing_key": "pd-routing-key",
    }
    created, closed = receivers.http["OpsGenie"].requests
    assert closed.path == f"/v2/alerts/{created.json()['alias']}/close?identifierType=alias"
    [alert] = await alerts_of(actx, cert_id)
    assert (alert.state, alert.resolved_by, alert.resolve_reason) == (
        AlertState.RESOLVED,
        "system",
        f"certificate renewed (version {version})",
    )


async def test_a_stale_trigger_is_cancelled_and_the_resolve_goes_out_when_pagerduty_recovers(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """PagerDuty down at T-0, the certificate renewed, PagerDuty back: the failed trigger
    row is `cancelled` and only the resolve is sent."""
    receivers.http["PagerDuty"].fail_next(1, status=503)
    cert_id = await issued(
        actx,
        days=10,
        policy={
            "alert_thresholds_days": [0],
            "alert_channels": {"critical": ["PagerDuty"]},
            "auto_renew": False,
        },
    )
    clock.advance(timedelta(days=9, hours=12))
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    await renew(actx, cert_id, days=30)
    clock.advance(timedelta(hours=2))
    retried = await actx.notifications.dispatch(retries=True)
    await actx.notifications.dispatch(retries=True)
    assert (retried.claimed, retried.sent) == (1, 1)
    trigger, resolve = bodies(receivers, "PagerDuty")
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert resolve["dedup_key"] == trigger["dedup_key"]
    [alert] = await alerts_of(actx, cert_id)
    detail = await actx.alert_records.get(SYSTEM_CALLER, alert.id)
    rows = sorted(detail.deliveries, key=lambda d: d.kind.value)
    assert [(d.kind.value, d.status) for d in rows] == [
        ("expiration", NotificationStatus.CANCELLED),
        ("resolved", NotificationStatus.SENT),
    ]
    assert str(rows[0].last_error).startswith("cancelled: alert resolved (certificate renewed")


async def test_renewal_failure_alert_carries_the_cause_in_every_payload(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A job that timed out waiting for its agent's CSR raises one critical alert whose cause
    reaches Slack, the webhook and PagerDuty."""
    cert_id = await issued(
        actx,
        days=60,
        policy={"alert_channels": {"critical": ["Slack", "Webhook", "PagerDuty"]}},
    )
    await actx.jobs.request_renewal(SYSTEM_CALLER, cert_id)
    await actx.jobs.process_due()
    clock.advance(timedelta(hours=25))
    await actx.jobs.expire_waits()
    await actx.notifications.dispatch()
    assert receivers.counts() == {**NONE, "Slack": 1, "Webhook": 1, "PagerDuty": 1}
    cause = "Agent offline: timed out after 24 h waiting for a CSR"
    [slack], [webhook], [pagerduty] = (
        bodies(receivers, c) for c in ("Slack", "Webhook", "PagerDuty")
    )
    fields = [f["text"] for block in slack["blocks"] for f in block.get("fields", [])]
    assert f"*Cause*\n{cause}" in fields
    assert (webhook["type"], webhook["cause"]) == ("certificate.renewal_failed", cause)
    assert pagerduty["payload"]["custom_details"]["cause"] == cause
    assert pagerduty["payload"]["severity"] == "critical"
    [alert] = await alerts_of(actx, cert_id)
    assert (alert.kind.value, alert.tier, alert.cause) == ("renewal_failed", "critical", cause)


async def test_overdue_alerts_once_per_threshold(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """Past its renewal window with no successor a certificate alerts `overdue` once at each
    threshold it crosses, however often the scan runs."""
    await issued(
        actx,
        days=40,
        policy={"alert_thresholds_days": [30, 14], "alert_channels": {"warning": ["Webhook"]}},
    )
    clock.advance(timedelta(days=12))  # 28 days left: the renewal was due 2 days ago
    for _ in range(3):
        await actx.alerts.scan()
        clock.advance(timedelta(hours=1))
    clock.advance(timedelta(days=14))  # 13 days left
    for _ in range(3):
        await actx.alerts.scan()
        clock.advance(timedelta(hours=1))
    await actx.notifications.dispatch()
    events = bodies(receivers, "Webhook")
    overdue = [e["threshold"] for e in events if e["type"] == "certificate.renewal_overdue"]
    expiring = [e["threshold"] for e in events if e["type"] == "certificate.expiring"]
    assert (overdue, expiring) == (["30", "14"], ["14"])


async def test_a_33_percent_threshold_on_a_6_day_certificate_fires_at_the_right_hour(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """With hourly scans a "33%" alert of a 6-day certificate fires at the first scan once
    33 % of its validity is left, and only once."""
    cert_id = await issued(
        actx,
        days=6,
        policy={
            "alert_thresholds_days": ["33%"],
            "alert_severity_map": {"33%": "warning"},
            "alert_channels": {"warning": ["Slack"]},
            "auto_renew": False,
        },
    )
    [version] = await actx.certificates.versions(SYSTEM_CALLER, cert_id)
    due = version.not_after - (version.not_after - version.not_before) * 0.33
    start = clock.now()
    expected_hour = math.ceil((due - start) / timedelta(hours=1))
    fired_at = []
    for hour in range(0, 144):
        clock.set(start + timedelta(hours=hour))
        if (await actx.alerts.scan()).alerts_enqueued:
            fired_at.append(hour)
    await actx.notifications.dispatch()
    assert fired_at == [expected_hour]
    assert expected_hour == 97
    assert receivers.counts() == {**NONE, "Slack": 1}


async def test_slack_sends_a_resolved_message_only_where_send_resolved_is_on(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> None:
    """With Slack in CERTCTL_ALERT_SEND_RESOLVED a renewal posts "[RESOLVED] …" to Slack;
    the webhook, off by default, gets nothing more."""
    settings = channel_settings(
        database_url, receivers, alert_send_resolved="PagerDuty,OpsGenie,Slack"
    )
    ctx = build_context(settings, clock=clock)
    try:
        cert_id = await issued(
            ctx,
            days=10,
            policy={
                "alert_thresholds_days": [7],
                "alert_channels": {"warning": ["Slack", "Webhook"]},
                "auto_renew": False,
            },
        )
        clock.advance(timedelta(days=4))
        await ctx.alerts.scan()
        await ctx.notifications.dispatch()
        await renew(ctx, cert_id, days=30)
        await ctx.notifications.dispatch()
    finally:
        await ctx.aclose()
    assert receivers.counts() == {**NONE, "Slack": 2, "Webhook": 1}
    trigger, resolved = bodies(receivers, "Slack")
    assert resolved["text"] == f"[RESOLVED] {trigger['text']}"
