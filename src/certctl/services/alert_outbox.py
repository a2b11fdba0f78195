"""Alerts and their deliveries, built for the outbox in the caller's transaction (C3, C4).

The scan, a failed renewal and a resolution all write through here, so every delivery row
is linked to its alert and carries the text rendered once in `domain.messages`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from certctl.db.uow import UnitOfWork
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.alert_lifecycle import Alert, AlertKind, AlertState, alert_dedup_key
from certctl.domain.alerts import ChannelDecision, NotificationKind
from certctl.domain.audit import AuditEvent
from certctl.domain.certificates import ManagedCertificate
from certctl.domain.ids import new_id
from certctl.domain.messages import CertificateFacts, MessageText
from certctl.domain.notifications import NotificationEvent, NotificationStatus
from certctl.services.audit import audit_event
from certctl.services.runtime import Runtime

NO_CHANNEL = "-"
"""The channel of the row recording that a tier has no channels (the operator opted out)."""


def incident_key(kind: AlertKind, certificate_id: str, version_id: str, threshold: str) -> str:
    """The key every channel shares for one alert: PagerDuty `dedup_key`, OpsGenie `alias`."""
    if kind is AlertKind.EXPIRY:
        return f"certctl-{certificate_id}-{version_id}-T{threshold}"
    if kind is AlertKind.RENEWAL_FAILED:
        return f"certctl-{certificate_id}-renewal_failed-{threshold}"
    return f"certctl-{certificate_id}-{version_id}-{kind.value}-T{threshold}"


def delivery_key(*parts: str) -> str:
    """A delivery's dedup key from the parts that make it unique."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def new_alert(
    *,
    kind: AlertKind,
    certificate_id: str,
    version_id: str,
    threshold: str | None,
    tier: str,
    subject: str,
    now: datetime,
    cause: str | None = None,
    job_id: str | None = None,
) -> Alert:
    """A new open alert; inserted only if no alert has its (kind, version, threshold) yet.

    An alert without a threshold (a renewal failure) is one per job instead.
    """
    ref = threshold if threshold is not None else job_id or ""
    return Alert(
        id=new_id("al", now),
        kind=kind,
        certificate_id=certificate_id,
        version_id=version_id,
        threshold=threshold,
        tier=tier,
        state=AlertState.OPEN,
        subject=subject,
        incident_key=incident_key(kind, certificate_id, version_id, ref),
        dedup_key=alert_dedup_key(kind, certificate_id, version_id, ref),
        opened_at=now,
        updated_at=now,
        cause=cause,
        job_id=job_id,
    )


def delivery(
    *,
    alert: Alert,
    kind: NotificationKind,
    decision: ChannelDecision,
    text: MessageText,
    context: Mapping[str, Any],
    recipients: Sequence[str],
    dedup: str,
    now: datetime,
    threshold_days: int | None = None,
    days_left: int | None = None,
) -> NotificationEvent:
    """One channel's delivery of `alert`; an opted-out tier or off-enum channel is `skipped`."""
    status, error = NotificationStatus.PENDING, None
    if not decision.channel:
        status = NotificationStatus.SKIPPED
        error = f"no channels configured for tier {decision.tier} (operator opt-out)"
    elif not decision.valid:
        status, error = NotificationStatus.SKIPPED, f"unknown channel {decision.channel!r}"
    return NotificationEvent(
        id=new_id("ne", now),
        kind=kind,
        channel=decision.channel or NO_CHANNEL,
        status=status,
        severity_tier=decision.tier,
        subject=text.subject,
        message=text.body,
        incident_key=alert.incident_key,
        created_at=now,
        updated_at=now,
        certificate_id=alert.certificate_id,
        version_ref=alert.version_id,
        threshold_days=threshold_days,
        days_until_expiry=days_left,
        recipient=",".join(recipients),
        context={**context, "alert_id": alert.id, "threshold": alert.threshold or ""},
        dedup_key=dedup,
        last_error=error,
        alert_id=alert.id,
    )


def recipients_of(owner_email: str, extra: Sequence[str]) -> tuple[str, ...]:
    """The owner's address first, then the extra recipients, each once."""
    return tuple(dict.fromkeys([*([owner_email] if owner_email else []), *extra]))


async def certificate_facts(
    uow: UnitOfWork, runtime: Runtime, cert: ManagedCertificate
) -> tuple[CertificateFacts, str]:
    """What messages say about `cert`, and its owner's e-mail address."""
    owner = await uow.owners.get(cert.owner_id) if cert.owner_id else None
    team = await uow.teams.get(cert.team_id) if cert.team_id else None
    issuer = await uow.issuers.get(cert.issuer_id) if cert.issuer_id else None
    facts = CertificateFacts(
        certificate_id=cert.id,
        name=cert.name,
        common_name=cert.common_name,
        sans=tuple(cert.sans),
        environment=cert.environment or "",
        owner_name=owner.name if owner else "",
        team_name=team.name if team else "",
        issuer_name=issuer.name if issuer else "",
        expires_at=cert.expires_at,
        link=runtime.alerting.link(cert.id),
    )
    return facts, owner.email if owner else ""


async def store(
    uow: UnitOfWork,
    runtime: Runtime,
    alerts: Mapping[str, Alert],
    events: Sequence[NotificationEvent],
) -> tuple[set[str], list[NotificationEvent], list[Alert]]:
    """Insert new alerts and the deliveries of those still open.

    An alert that already exists (a later scan, another replica) is reused: its deliveries
    are re-pointed at it, and dropped when it is resolved — a resolved alert never pages.
    Returns the ids of the deliveries inserted, the deliveries offered and the new alerts.
    """
    new_keys = await uow.alerts.insert_new(list(alerts.values()))
    # Only alerts that already existed are read back: an inserted one is the object offered.
    stored = await uow.alerts.by_dedup_keys([k for k in alerts if k not in new_keys])
    stored.update({key: alerts[key] for key in new_keys})
    by_id = {alert.id: stored[key] for key, alert in alerts.items()}
    offered = [
        _repointed(e, by_id[e.alert_id])
        for e in events
        if e.alert_id is not None and by_id[e.alert_id].is_open
    ]
    inserted = await uow.notifications.insert_new(offered)
    opened = [stored[key] for key, alert in alerts.items() if stored[key].id == alert.id]
    await uow.audit.add_all([_opened_audit(runtime, alert) for alert in opened])
    return inserted, offered, opened


def _repointed(event: NotificationEvent, alert: Alert) -> NotificationEvent:
    if event.alert_id == alert.id:
        return event
    context = {**event.context, "alert_id": alert.id}
    return replace(event, alert_id=alert.id, context=context, incident_key=alert.incident_key)


def _opened_audit(runtime: Runtime, alert: Alert) -> AuditEvent:
    return audit_event(
        runtime,
        caller=SYSTEM_CALLER,
        action="alert_opened",
        resource_type="alert",
        resource_id=alert.id,
        details={
            "kind": alert.kind.value,
            "certificate_id": alert.certificate_id,
            "version_id": alert.version_id,
            "threshold": alert.threshold,
            "tier": alert.tier,
            "cause": alert.cause,
        },
    )
