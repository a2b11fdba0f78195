"""Escalation: a critical alert nobody acknowledged in time goes to the next channel set (C3).

The policy of the alert's certificate names the delay (`escalation_after_minutes`) and the
channels (`escalation_channels`). Each due alert gets one delivery per escalation channel
through the same outbox (gates, retries and dead letters apply) and is marked escalated in the
same transaction, so it escalates once; an acknowledged or resolved alert never escalates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from certctl.db.uow import UnitOfWork
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.alert_lifecycle import Alert, AlertKind, escalated, escalation_due
from certctl.domain.alerts import ChannelDecision, NotificationKind
from certctl.domain.messages import escalated_text
from certctl.domain.notifications import NotificationEvent
from certctl.domain.policies import RenewalPolicy, SeverityTier
from certctl.services.alert_outbox import certificate_facts, delivery, delivery_key, recipients_of
from certctl.services.audit import audit_event
from certctl.services.runtime import Runtime

NOTIFICATION_KINDS = {
    AlertKind.EXPIRY: NotificationKind.EXPIRATION,
    AlertKind.OVERDUE: NotificationKind.OVERDUE,
    AlertKind.RENEWAL_FAILED: NotificationKind.RENEWAL_FAILED,
    AlertKind.DEPLOYMENT_FAILED: NotificationKind.DEPLOYMENT_FAILED,
    AlertKind.DRIFT: NotificationKind.DRIFT,
}
"""An escalation is the alert again, louder: receivers see the alert's own kind."""


@dataclass
class EscalationSummary:
    """What one escalation pass did."""

    alerts_escalated: int = 0
    deliveries_queued: int = 0
    escalated_ids: list[str] = field(default_factory=list)


async def escalate_due(runtime: Runtime) -> EscalationSummary:
    """Escalate every critical alert left unacknowledged past its policy's delay."""
    now = runtime.clock.now()
    summary = EscalationSummary()
    async with runtime.db.uow() as uow:
        policies: dict[str, RenewalPolicy | None] = {}
        for alert in await uow.alerts.escalation_candidates(SeverityTier.CRITICAL.value):
            policy = await _policy_of(uow, alert, policies)
            minutes = policy.escalation_after_minutes if policy else None
            if policy is None or not escalation_due(alert, after_minutes=minutes, now=now):
                continue
            assert minutes is not None
            queued = await _escalate(uow, runtime, alert, policy, minutes)
            summary.alerts_escalated += 1
            summary.deliveries_queued += queued
            summary.escalated_ids.append(alert.id)
    return summary


async def _policy_of(
    uow: UnitOfWork, alert: Alert, cache: dict[str, RenewalPolicy | None]
) -> RenewalPolicy | None:
    """The renewal policy of the alert's certificate (none: no escalation)."""
    if alert.certificate_id not in cache:
        cert = await uow.certificates.get(alert.certificate_id)
        policy_id = cert.renewal_policy_id if cert else None
        cache[alert.certificate_id] = await uow.policies.get(policy_id) if policy_id else None
    return cache[alert.certificate_id]


async def _escalate(
    uow: UnitOfWork, runtime: Runtime, alert: Alert, policy: RenewalPolicy, minutes: int
) -> int:
    """Queue the escalation deliveries of `alert`, mark it escalated, audit it."""
    now = runtime.clock.now()
    after = escalated(alert, now=now)
    cert = await uow.certificates.require(alert.certificate_id)
    facts, email = await certificate_facts(uow, runtime, cert)
    text = escalated_text(
        facts, alert_subject=alert.subject, opened_at=alert.opened_at, after_minutes=minutes
    )
    context = {
        **facts.context(),
        "escalated": True,
        "escalation_level": after.escalation_level,
        "escalated_after_minutes": minutes,
        "alert_subject": alert.subject,
        "cause": alert.cause,
    }
    events: list[NotificationEvent] = [
        delivery(
            alert=after,
            kind=NOTIFICATION_KINDS[alert.kind],
            decision=ChannelDecision(alert.threshold or "", alert.tier, channel, True),
            text=text,
            context=context,
            recipients=recipients_of(email, runtime.alerting.extra_recipients),
            dedup=delivery_key("escalation", alert.id, str(after.escalation_level), channel),
            now=now,
        )
        for channel in policy.escalation_channels
    ]
    inserted = await uow.notifications.insert_new(events)
    await uow.alerts.update(after)
    await uow.audit.add(
        audit_event(
            runtime,
            caller=SYSTEM_CALLER,
            action="alert_escalated",
            resource_type="alert",
            resource_id=alert.id,
            details={
                "certificate_id": alert.certificate_id,
                "level": after.escalation_level,
                "after_minutes": minutes,
                "channels": list(policy.escalation_channels),
            },
        )
    )
    return len(inserted)
