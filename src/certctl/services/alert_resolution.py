"""Resolving alerts: state, cancelled deliveries and resolve notices in one transaction (C3).

A renewed, revoked or archived certificate resolves its open alerts as part of the change
that ended them. Deliveries not yet made are cancelled — kept, with the reason — so a channel
that recovers later never receives a stale trigger; each channel whose `send_resolved` is on
gets a resolve notice through the outbox instead (PagerDuty `resolve` with the trigger's
`dedup_key`, OpsGenie close by alias, a "resolved" message elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from certctl.db.uow import UnitOfWork
from certctl.domain.access import SYSTEM_CALLER, Caller
from certctl.domain.alert_lifecycle import SYSTEM, Alert, AlertKind, resolved
from certctl.domain.alerts import ChannelDecision, NotificationKind
from certctl.domain.certificates import CertificateVersion, ManagedCertificate
from certctl.domain.listing import PageRequest, SortKey
from certctl.domain.messages import resolved_text
from certctl.domain.notifications import (
    CANCELLABLE,
    NotificationEvent,
    NotificationStatus,
    cancelled,
)
from certctl.domain.policies import AlertChannel
from certctl.domain.thresholds import crossed, key_of
from certctl.services.alert_outbox import (
    certificate_facts,
    delivery,
    delivery_key,
    recipients_of,
)
from certctl.services.audit import record
from certctl.services.runtime import Runtime

RESOLVED_BY_DEFAULT = frozenset({AlertChannel.PAGERDUTY.value, AlertChannel.OPSGENIE.value})
_VALID = frozenset(c.value for c in AlertChannel)


async def send_resolved_channels(uow: UnitOfWork, runtime: Runtime) -> frozenset[str]:
    """Channel types that send a resolve notice, decided as the dispatcher picks configs:
    the first enabled database channel of a type, else the environment's."""
    page = await uow.channels.page(
        request=PageRequest(per_page=500), sort=SortKey("name"), equals={"enabled": True}
    )
    decided: dict[str, bool] = {}
    for channel in page.items:
        flag = channel.config.get("send_resolved")
        default = channel.channel in RESOLVED_BY_DEFAULT
        decided.setdefault(channel.channel, default if flag is None else bool(flag))
    env = {c: c in runtime.alerting.send_resolved for c in _VALID if c not in decided}
    return frozenset(c for c, on in {**decided, **env}.items() if on)


async def resolve_alerts(
    uow: UnitOfWork,
    runtime: Runtime,
    alerts: Sequence[Alert],
    *,
    reason: str,
    caller: Caller = SYSTEM_CALLER,
) -> list[Alert]:
    """Resolve `alerts`, cancel their undelivered rows and queue the resolve notices."""
    if not alerts:
        return []
    now = runtime.clock.now()
    by = SYSTEM if caller is SYSTEM_CALLER else caller.principal.name
    done = [resolved(alert, by=by, reason=reason, now=now) for alert in alerts]
    deliveries = await uow.notifications.for_alerts([a.id for a in done])
    wanted = await send_resolved_channels(uow, runtime)
    for alert in done:
        await uow.alerts.update(alert)
        mine = [d for d in deliveries if d.alert_id == alert.id]
        stopped = [
            cancelled(d, f"alert resolved ({reason})", now) for d in mine if d.status in CANCELLABLE
        ]
        await uow.notifications.save_all(stopped)
        notices = await _notices(uow, runtime, alert, mine, wanted)
        await uow.notifications.insert_new(notices)
        await record(
            uow,
            runtime,
            caller=caller,
            action="alert_resolved",
            resource_type="alert",
            resource_id=alert.id,
            details={
                "reason": reason,
                "certificate_id": alert.certificate_id,
                "cancelled": [d.id for d in stopped],
                "resolve_notices": sorted(n.channel for n in notices),
            },
        )
    return done


async def _notices(
    uow: UnitOfWork,
    runtime: Runtime,
    alert: Alert,
    deliveries: Sequence[NotificationEvent],
    wanted: frozenset[str],
) -> list[NotificationEvent]:
    """One resolve notice per channel the alert went (or was going) to, where wanted."""
    channels = sorted(
        {
            d.channel
            for d in deliveries
            if d.kind is not NotificationKind.RESOLVED
            and d.status is not NotificationStatus.SKIPPED
            and d.channel in wanted
        }
    )
    if not channels:
        return []
    cert = await uow.certificates.require(alert.certificate_id)
    facts, email = await certificate_facts(uow, runtime, cert)
    assert alert.resolve_reason is not None
    text = resolved_text(facts, alert_subject=alert.subject, reason=alert.resolve_reason)
    now = runtime.clock.now()
    return [
        delivery(
            alert=alert,
            kind=NotificationKind.RESOLVED,
            decision=ChannelDecision(alert.threshold or "", alert.tier, channel, True),
            text=text,
            context={
                **facts.context(),
                "resolve_reason": alert.resolve_reason,
                # A resolve notice says whether the alert it closes had escalated.
                "escalated": alert.escalation_level > 0,
                "escalation_level": alert.escalation_level,
            },
            recipients=recipients_of(email, runtime.alerting.extra_recipients),
            dedup=delivery_key("resolved", alert.id, channel),
            now=now,
        )
        for channel in channels
    ]


async def resolve_for_certificate(
    uow: UnitOfWork,
    runtime: Runtime,
    certificate_id: str,
    *,
    reason: str,
    keep: Callable[[Alert], bool] = lambda alert: False,
) -> list[Alert]:
    """Resolve the certificate's open alerts (all but those `keep` holds on to)."""
    open_alerts = await uow.alerts.open_for(certificate_id)
    return await resolve_alerts(
        uow, runtime, [a for a in open_alerts if not keep(a)], reason=reason
    )


async def resolve_for_new_version(
    uow: UnitOfWork,
    runtime: Runtime,
    cert: ManagedCertificate,
    version: CertificateVersion,
    open_alerts: Sequence[Alert],
) -> list[Alert]:
    """A new version ends the renewal-failure and overdue alerts, and every expiry alert
    whose threshold the new version is no longer inside (deployment and drift alerts are
    about targets, not versions, and stay). `open_alerts` are the certificate's open alerts,
    read (and locked) by the caller with those of the other certificates it writes."""
    now = runtime.clock.now()

    def still_inside(alert: Alert) -> bool:
        if alert.kind in (AlertKind.DEPLOYMENT_FAILED, AlertKind.DRIFT):
            return True
        if alert.kind is not AlertKind.EXPIRY or alert.threshold is None:
            return False
        return crossed(
            key_of(alert.threshold),
            expires_at=version.not_after,
            not_before=version.not_before,
            now=now,
        )

    return await resolve_alerts(
        uow,
        runtime,
        [a for a in open_alerts if not still_inside(a)],
        reason=f"certificate renewed (version {version.id})",
    )
