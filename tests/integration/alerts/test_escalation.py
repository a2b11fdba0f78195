"""Escalation (C3): a critical alert nobody acknowledged within the policy's delay goes once
to the escalation channels, counted at real receivers under a frozen clock."""

from __future__ import annotations

from datetime import timedelta

from certctl.bootstrap import AppContext, build_context
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.alert_lifecycle import Alert
from certctl.domain.listing import PageRequest, SortKey
from certctl.services.alert_escalation import escalate_due
from certctl.services.alert_records import AlertFilter

from .conftest import Receivers, channel_settings, make_cert

NONE = {"Slack": 0, "Teams": 0, "PagerDuty": 0, "OpsGenie": 0, "Webhook": 0, "Email": 0}
ESCALATING = {
    "alert_thresholds_days": [7],
    "alert_severity_map": {"7": "critical"},
    "alert_channels": {"critical": ["Slack"]},
    "auto_renew": False,
    "escalation_after_minutes": 30,
    "escalation_channels": ["PagerDuty"],
}


async def opened(ctx: AppContext, policy: dict[str, object]) -> Alert:
    """The one alert a scan opens for a certificate 5 days from expiry, delivered."""
    cert_id = await make_cert(ctx, days=5, policy=policy)
    await ctx.alerts.scan()
    await ctx.notifications.dispatch()
    page = await ctx.alert_records.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=10),
        sort=SortKey("opened_at"),
        filters=AlertFilter(certificate_id=cert_id),
    )
    [alert] = page.items
    return alert


async def test_escalates_after_exactly_n_minutes_to_the_escalation_channel(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """At N-1 minutes nothing escalates; at N minutes PagerDuty gets one escalated trigger."""
    alert = await opened(actx, ESCALATING)
    assert receivers.counts() == {**NONE, "Slack": 1}
    clock.advance(timedelta(minutes=29, seconds=59))
    assert (await escalate_due(actx.runtime)).alerts_escalated == 0
    await actx.notifications.dispatch()
    assert receivers.counts() == {**NONE, "Slack": 1}
    clock.advance(timedelta(seconds=1))
    summary = await escalate_due(actx.runtime)
    assert (summary.alerts_escalated, summary.deliveries_queued, summary.escalated_ids) == (
        1,
        1,
        [alert.id],
    )
    await actx.notifications.dispatch()
    assert receivers.counts() == {**NONE, "Slack": 1, "PagerDuty": 1}
    [event] = [r.json() for r in receivers.http["PagerDuty"].requests]
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == alert.incident_key
    assert event["payload"]["summary"] == f"[ESCALATED] {alert.subject}"
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["custom_details"]["alert_id"] == alert.id
    assert event["payload"]["custom_details"]["certificate_id"] == alert.certificate_id
    detail = await actx.alert_records.get(SYSTEM_CALLER, alert.id)
    assert detail.alert.escalation_level == 1
    assert detail.alert.escalated_at == clock.now()
    [escalation] = [d for d in detail.deliveries if d.channel == "PagerDuty"]
    assert escalation.context["escalated"] is True
    assert escalation.context["escalated_after_minutes"] == 30
    assert "Not acknowledged within 30 minutes" in escalation.message


async def test_escalates_only_once(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A second pass, an hour later, sends nothing more."""
    await opened(actx, ESCALATING)
    clock.advance(timedelta(minutes=30))
    assert (await escalate_due(actx.runtime)).alerts_escalated == 1
    clock.advance(timedelta(hours=1))
    assert (await escalate_due(actx.runtime)).alerts_escalated == 0
    await actx.notifications.dispatch()
    assert receivers.counts() == {**NONE, "Slack": 1, "PagerDuty": 1}


async def test_an_acknowledged_alert_does_not_escalate(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """Acknowledging before the deadline stops the escalation."""
    alert = await opened(actx, ESCALATING)
    clock.advance(timedelta(minutes=10))
    await actx.alert_records.acknowledge(SYSTEM_CALLER, alert.id)
    clock.advance(timedelta(minutes=30))
    assert (await escalate_due(actx.runtime)).alerts_escalated == 0
    await actx.notifications.dispatch()
    assert receivers.counts() == {**NONE, "Slack": 1}
    detail = await actx.alert_records.get(SYSTEM_CALLER, alert.id)
    assert (detail.alert.escalated_at, detail.alert.escalation_level) == (None, 0)


async def test_a_resolved_alert_does_not_escalate(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """Resolving before the deadline stops the escalation."""
    alert = await opened(actx, ESCALATING)
    await actx.alert_records.resolve(SYSTEM_CALLER, alert.id, reason="host decommissioned")
    clock.advance(timedelta(minutes=31))
    assert (await escalate_due(actx.runtime)).alerts_escalated == 0
    await actx.notifications.dispatch()
    assert receivers.counts() == {**NONE, "Slack": 1}


async def test_a_non_critical_alert_does_not_escalate(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A warning alert left unacknowledged past the delay escalates nowhere."""
    policy = {
        **ESCALATING,
        "alert_severity_map": {"7": "warning"},
        "alert_channels": {"warning": ["Slack"]},
    }
    await opened(actx, policy)
    clock.advance(timedelta(hours=2))
    assert (await escalate_due(actx.runtime)).alerts_escalated == 0
    await actx.notifications.dispatch()
    assert receivers.counts() == {**NONE, "Slack": 1}


async def test_webhook_events_say_whether_the_alert_escalated(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> None:
    """The webhook's trigger says escalated false / level 0, its escalation true / 1, and the
    resolve notice of the escalated alert true / 1, each with the alert's id."""
    policy = {
        **ESCALATING,
        "alert_channels": {"critical": ["Webhook"]},
        "escalation_channels": ["Webhook"],
    }
    settings = channel_settings(database_url, receivers, alert_send_resolved="Webhook")
    ctx = build_context(settings, clock=clock)
    try:
        alert = await opened(ctx, policy)
        clock.advance(timedelta(minutes=30))
        assert (await escalate_due(ctx.runtime)).alerts_escalated == 1
        await ctx.notifications.dispatch()
        await ctx.certificates.archive(SYSTEM_CALLER, alert.certificate_id)
        await ctx.notifications.dispatch()
    finally:
        await ctx.aclose()
    assert receivers.counts() == {**NONE, "Webhook": 3}
    sent = [r.json() for r in receivers.http["Webhook"].requests]
    assert [(e["type"], e["alert_id"], e["escalated"], e["escalation_level"]) for e in sent] == [
        ("certificate.expiring", alert.id, False, 0),
        ("certificate.expiring", alert.id, True, 1),
        ("alert.resolved", alert.id, True, 1),
    ]


async def test_webhook_events_other_than_alerts_carry_no_escalation_fields(
    actx: AppContext, receivers: Receivers
) -> None:
    """A revocation notice is not an alert: its webhook event has neither field."""
    policy = {"alert_channels": {"critical": ["Webhook"]}, "auto_renew": False}
    cert_id = await make_cert(actx, days=30, policy=policy)
    await actx.certificates.revoke(SYSTEM_CALLER, cert_id, reason="superseded")
    await actx.notifications.dispatch()
    [event] = [r.json() for r in receivers.http["Webhook"].requests]
    assert event["type"] == "certificate.revoked"
    assert {"alert_id", "escalated", "escalation_level"} & set(event) == set()
