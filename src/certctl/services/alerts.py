"""The expiry scan: status changes and alert decisions written to the outbox (C2).

Each decision (certificate, version, threshold, channel) becomes one notification_events
row, its audit row and any status change in the same transaction. The unique dedup key
makes a repeated decision — a later tick, or another replica racing — a counted `deduped`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from certctl.db.uow import AlertCandidate, UnitOfWork
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.alerts import (
    ChannelDecision,
    NotificationKind,
    crossed_thresholds,
    days_left,
    dedup_key,
    expiry_subject,
    incident_key,
)
from certctl.domain.audit import AuditEvent
from certctl.domain.certificates import CertificateStatus, status_for_expiry
from certctl.domain.ids import new_id
from certctl.domain.listing import PageRequest, SortKey
from certctl.domain.notifications import NotificationEvent, NotificationStatus
from certctl.domain.policies import AlertChannel, RenewalPolicy, effective_thresholds
from certctl.metrics import Metrics
from certctl.services.audit import audit_event
from certctl.services.runtime import Runtime

CHUNK = 200
_ALERTING_STATUSES = frozenset({CertificateStatus.ACTIVE, CertificateStatus.EXPIRING})
_VALID = frozenset(c.value for c in AlertChannel)


@dataclass
class ScanSummary:
    """What one expiry scan did."""

    loop: str = "renewal"
    certificates_scanned: int = 0
    alerts_enqueued: int = 0
    deduped: int = 0
    skipped_no_channels: int = 0
    invalid_channels: int = 0
    status_changes: int = 0


@dataclass
class _Batch:
    events: list[NotificationEvent] = field(default_factory=list)
    audits: dict[str, AuditEvent] = field(default_factory=dict)


def policy_window_days(policy: RenewalPolicy | None) -> int:
    """How far ahead a policy needs certificates: its largest threshold or renewal window."""
    window = policy.renewal_window_days if policy else 30
    return max([window, *effective_thresholds(policy)])


class AlertService:
    """Runs the expiry scan."""

    def __init__(
        self,
        runtime: Runtime,
        metrics: Metrics,
        *,
        public_url: str | None,
        extra_recipients: Sequence[str] = (),
    ) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.public_url = public_url.rstrip("/") if public_url else None
        self.extra_recipients = tuple(extra_recipients)

    async def scan(self) -> ScanSummary:
        """Check every certificate within its policy's window; enqueue what is due."""
        now = self.runtime.clock.now()
        summary = ScanSummary()
        async with self.runtime.db.uow() as uow:
            policies = await all_policies(uow)
            horizon = max([policy_window_days(None), *map(policy_window_days, policies.values())])
            candidates = await uow.alert_candidates(until=now + timedelta(days=horizon + 1))
        summary.certificates_scanned = len(candidates)
        for start in range(0, len(candidates), CHUNK):
            chunk = candidates[start : start + CHUNK]
            await self._scan_chunk(chunk, policies, now, summary)
        return summary

    async def _scan_chunk(
        self,
        chunk: Sequence[AlertCandidate],
        policies: dict[str, RenewalPolicy],
        now: datetime,
        summary: ScanSummary,
    ) -> None:
        async with self.runtime.db.uow() as uow:
            known = await uow.notifications.dedup_keys_for([c.certificate.id for c in chunk])
            batch = _Batch()
            for candidate in chunk:
                policy = policies.get(candidate.certificate.renewal_policy_id or "")
                if await self._update_status(uow, candidate, policy, now):
                    summary.status_changes += 1
                self._decide(candidate, policy, now, known, batch, summary)
            inserted = await uow.notifications.insert_new(batch.events)
            await uow.audit.add_all([batch.audits[i] for i in inserted])
        self._count(batch.events, inserted, summary)

    async def _update_status(
        self,
        uow: UnitOfWork,
        candidate: AlertCandidate,
        policy: RenewalPolicy | None,
        now: datetime,
    ) -> bool:
        cert = candidate.certificate
        if cert.status not in _ALERTING_STATUSES or cert.expires_at is None:
            return False
        window = policy.renewal_window_days if policy else 30
        wanted = status_for_expiry(cert.expires_at, now, window)
        if wanted is cert.status:
            return False
        full = await uow.certificates.require(cert.id)
        await uow.certificates.update_own_columns(
            dataclasses.replace(full, status=wanted, updated_at=now)
        )
        await uow.audit.add(
            audit_event(
                self.runtime,
                caller=SYSTEM_CALLER,
                action="certificate_status_changed",
                resource_type="certificate",
                resource_id=cert.id,
                details={"from": cert.status.value, "to": wanted.value},
            )
        )
        return True

    def _decide(
        self,
        candidate: AlertCandidate,
        policy: RenewalPolicy | None,
        now: datetime,
        known: set[str],
        batch: _Batch,
        summary: ScanSummary,
    ) -> None:
        cert = candidate.certificate
        assert cert.expires_at is not None
        left = days_left(cert.expires_at, now)
        for threshold in crossed_thresholds(policy, left):
            decisions = threshold.channels or (
                ChannelDecision(threshold.threshold, threshold.tier, "", valid=False),
            )
            for decision in decisions:
                key = dedup_key(
                    cert.id, candidate.version_ref, decision.threshold, decision.channel
                )
                if key in known:
                    summary.deduped += 1 if decision.valid else 0
                    self._dedup_metric(decision)
                    continue
                event = self._event(candidate, decision, left, now, key)
                batch.events.append(event)
                batch.audits[event.id] = self._audit(event, decision)

    def _event(
        self,
        candidate: AlertCandidate,
        decision: ChannelDecision,
        left: int,
        now: datetime,
        key: str,
    ) -> NotificationEvent:
        cert = candidate.certificate
        assert cert.expires_at is not None
        subject = expiry_subject(cert.name, left, cert.expires_at, now)
        status, error = NotificationStatus.PENDING, None
        if not decision.channel:
            status = NotificationStatus.SKIPPED
            error = f"no channels configured for tier {decision.tier} (operator opt-out)"
        elif not decision.valid:
            status, error = NotificationStatus.SKIPPED, f"unknown channel {decision.channel!r}"
        owner = (candidate.owner_email,) if candidate.owner_email else ()
        recipients = tuple(dict.fromkeys((*owner, *self.extra_recipients)))
        return NotificationEvent(
            id=new_id("ne", now),
            kind=NotificationKind.EXPIRATION,
            channel=decision.channel or "-",
            status=status,
            severity_tier=decision.tier,
            subject=subject,
            message=self._body(candidate, left, subject),
            incident_key=incident_key(cert.id, candidate.version_ref, decision.threshold),
            created_at=now,
            updated_at=now,
            certificate_id=cert.id,
            version_ref=candidate.version_ref,
            threshold_days=decision.threshold,
            days_until_expiry=left,
            recipient=",".join(recipients),
            context=self._context(candidate, left),
            dedup_key=key,
            last_error=error,
        )

    def _context(self, candidate: AlertCandidate, left: int) -> dict[str, Any]:
        cert = candidate.certificate
        return {
            "certificate_name": cert.name,
            "common_name": cert.common_name,
            "sans": list(cert.sans),
            "environment": cert.environment,
            "owner_name": candidate.owner_name,
            "team_name": candidate.team_name,
            "issuer_name": candidate.issuer_name,
            "expires_at": cert.expires_at.isoformat() if cert.expires_at else None,
            "days_left": left,
            "link": self._link(cert.id),
        }

    def _link(self, cert_id: str) -> str | None:
        return f"{self.public_url}/certificates/{cert_id}" if self.public_url else None

    def _body(self, candidate: AlertCandidate, left: int, subject: str) -> str:
        cert = candidate.certificate
        lines = [
            subject,
            "",
            f"Certificate: {cert.name}",
            f"Common name: {cert.common_name}",
            f"SANs: {', '.join(cert.sans) or '-'}",
            f"Expires: {cert.expires_at:%Y-%m-%d %H:%M} UTC ({_days_phrase(left)})",
            f"Owner: {candidate.owner_name or '-'}",
            f"Team: {candidate.team_name or '-'}",
            f"Environment: {cert.environment or '-'}",
            f"Issuer: {candidate.issuer_name or '-'}",
        ]
        if link := self._link(cert.id):
            lines.append(f"Details: {link}")
        lines += ["", "What to do: renew the certificate (or confirm its renewal job is running)."]
        return "\n".join(lines)

    def _audit(self, event: NotificationEvent, decision: ChannelDecision) -> AuditEvent:
        details: dict[str, Any] = {
            "threshold_days": decision.threshold,
            "days_until_expiry": event.days_until_expiry,
            "severity_tier": decision.tier,
        }
        if not decision.channel:
            action = "expiration_alert_skipped_no_channels"
        elif not decision.valid:
            action = "expiration_alert_skipped_invalid_channel"
            details["invalid_channel"] = decision.channel
        else:
            action = "expiration_alert_sent"
            details["channel"] = decision.channel
            details["notification_id"] = event.id
        return audit_event(
            self.runtime,
            caller=SYSTEM_CALLER,
            action=action,
            resource_type="certificate",
            resource_id=event.certificate_id or "-",
            details=details,
        )

    def _count(
        self, events: Sequence[NotificationEvent], inserted: set[str], summary: ScanSummary
    ) -> None:
        for event in events:
            valid = event.channel in _VALID
            if event.id not in inserted:
                summary.deduped += 1 if valid else 0
                if valid:
                    self._dedup_metric_raw(event.channel, event.threshold_days)
            elif event.channel == "-":
                summary.skipped_no_channels += 1
            elif not valid:
                summary.invalid_channels += 1
            else:
                summary.alerts_enqueued += 1

    def _dedup_metric(self, decision: ChannelDecision) -> None:
        if decision.valid:
            self._dedup_metric_raw(decision.channel, decision.threshold)

    def _dedup_metric_raw(self, channel: str, threshold: int | None) -> None:
        self.metrics.expiry_alerts.labels(
            channel=channel, threshold=str(threshold), result="deduped"
        ).inc()


def _days_phrase(left: int) -> str:
    if left < 0:
        return f"expired {-left} day{'s' if left < -1 else ''} ago"
    return f"{left} day{'' if left == 1 else 's'} left"


async def all_policies(uow: UnitOfWork) -> dict[str, RenewalPolicy]:
    policies: dict[str, RenewalPolicy] = {}
    page_number = 1
    while True:
        page = await uow.policies.page(
            request=PageRequest(page=page_number, per_page=500), sort=SortKey("id")
        )
        policies.update({p.id: p for p in page.items})
        if page_number * 500 >= page.total:
            return policies
        page_number += 1
