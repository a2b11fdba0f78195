"""The expiry scan: status changes, alerts and their deliveries written to the outbox (C2, C3).

Each decision (certificate, version, threshold, channel) becomes one notification_events
row beneath its alert, with its audit row and any status change in the same transaction. The
unique dedup keys make a repeated decision — a later tick, or another replica racing — a
counted `deduped`. A certificate past its renewal window with no successor is also `overdue`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from certctl.db.uow import AlertCandidate, UnitOfWork
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.alert_lifecycle import Alert, AlertKind
from certctl.domain.alerts import (
    DEFAULT_WINDOW_DAYS,
    ChannelDecision,
    NotificationKind,
    ThresholdDecision,
    crossed_thresholds,
    days_left,
    dedup_key,
    overdue,
    overdue_decisions,
)
from certctl.domain.audit import AuditEvent
from certctl.domain.certificates import (
    CertificateStatus,
    ManagedCertificate,
    status_for_expiry,
)
from certctl.domain.listing import PageRequest, SortKey
from certctl.domain.messages import CertificateFacts, MessageText, expiry_text, overdue_text
from certctl.domain.notifications import NotificationEvent
from certctl.domain.policies import AlertChannel, RenewalPolicy, effective_thresholds
from certctl.domain.thresholds import key_of, percent_of
from certctl.metrics import Metrics
from certctl.services.alert_outbox import (
    NO_CHANNEL,
    delivery,
    delivery_key,
    new_alert,
    recipients_of,
    store,
)
from certctl.services.alert_records import refresh_open_gauge
from certctl.services.audit import audit_event
from certctl.services.runtime import Runtime

CHUNK = 200
PIPELINE_DEPTH = 2
"""Chunks in flight at once on PostgreSQL: one being decided while the one before is written."""
_ALERTING_STATUSES = frozenset({CertificateStatus.ACTIVE, CertificateStatus.EXPIRING})
_VALID = frozenset(c.value for c in AlertChannel)
MAX_VALIDITY_DAYS = 825
"""The longest validity percentage thresholds plan for when choosing which certificates to
look at (a percentage of a longer-lived certificate is seen once it is this close)."""
_NOTIFICATION_KINDS = {
    AlertKind.EXPIRY: NotificationKind.EXPIRATION,
    AlertKind.OVERDUE: NotificationKind.OVERDUE,
    AlertKind.RENEWAL_FAILED: NotificationKind.RENEWAL_FAILED,
}


@dataclass
class ScanSummary:
    """What one expiry scan did."""

    loop: str = "renewal"
    certificates_scanned: int = 0
    alerts_enqueued: int = 0
    deduped: int = 0
    skipped_no_channels: int = 0
    alerts_opened: int = 0
    invalid_channels: int = 0
    status_changes: int = 0


@dataclass
class _Batch:
    alerts: dict[str, Alert] = field(default_factory=dict)
    events: list[NotificationEvent] = field(default_factory=list)
    audits: dict[str, AuditEvent] = field(default_factory=dict)

    def alert(self, alert: Alert) -> Alert:
        """The batch's alert with this dedup key (the first one offered)."""
        return self.alerts.setdefault(alert.dedup_key, alert)


@dataclass(frozen=True)
class _Subject:
    """A candidate with what its messages and outbox rows share."""

    candidate: AlertCandidate
    facts: CertificateFacts
    left: int
    context: dict[str, Any]
    recipients: tuple[str, ...]


def policy_window_days(policy: RenewalPolicy | None) -> int:
    """How far ahead a policy needs certificates: its largest threshold or renewal window
    (a percentage counts against the longest validity the scan plans for)."""
    window = policy.renewal_window_days if policy else DEFAULT_WINDOW_DAYS
    days = [
        t if isinstance(t, int) else math.ceil(MAX_VALIDITY_DAYS * (percent_of(t) or 0) / 100)
        for t in effective_thresholds(policy)
    ]
    return max([window, *days])


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
        await self._scan_chunks(candidates, policies, now, summary)
        await refresh_open_gauge(self.runtime, self.metrics)
        return summary

    async def _scan_chunks(
        self,
        candidates: Sequence[AlertCandidate],
        policies: dict[str, RenewalPolicy],
        now: datetime,
        summary: ScanSummary,
    ) -> None:
        """Scan chunk after chunk, each in its own transaction, committed in order.

        On PostgreSQL the next chunk is decided while the previous one is written (two
        transactions on two connections: the database and the scan each keep a core busy);
        SQLite has one writer at a time, so its chunks run strictly one after the other.
        """
        depth = PIPELINE_DEPTH if self.runtime.db.backend == "postgresql" else 1
        in_flight: list[asyncio.Task[None]] = []
        try:
            for start in range(0, len(candidates), CHUNK):
                if len(in_flight) == depth:
                    await in_flight.pop(0)
                chunk = candidates[start : start + CHUNK]
                after = in_flight[-1] if in_flight else None
                in_flight.append(
                    asyncio.create_task(self._scan_chunk(chunk, policies, now, summary, after))
                )
            while in_flight:
                await in_flight.pop(0)
        finally:
            for task in in_flight:  # only after a failure: the rest must not commit
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _scan_chunk(
        self,
        chunk: Sequence[AlertCandidate],
        policies: dict[str, RenewalPolicy],
        now: datetime,
        summary: ScanSummary,
        after: asyncio.Task[None] | None = None,
    ) -> None:
        """Decide and write one chunk; commit only once the chunk before it (`after`) has, so
        audit rows keep the order of a scan done chunk by chunk."""
        async with self.runtime.db.uow() as uow:
            known = await uow.notifications.dedup_keys_for([c.certificate.id for c in chunk])
            await self._update_statuses(uow, chunk, policies, now, summary)
            batch = _Batch()
            for candidate in chunk:
                policy = policies.get(candidate.certificate.renewal_policy_id or "")
                self._decide(candidate, policy, now, known, batch, summary)
            inserted, offered, opened = await store(uow, self.runtime, batch.alerts, batch.events)
            await uow.audit.add_all([batch.audits[i] for i in inserted])
            if after is not None:
                await after  # its failure rolls this chunk back too
        summary.alerts_opened += len(opened)
        self._count(offered, inserted, summary)

    async def _update_statuses(
        self,
        uow: UnitOfWork,
        chunk: Sequence[AlertCandidate],
        policies: dict[str, RenewalPolicy],
        now: datetime,
        summary: ScanSummary,
    ) -> None:
        """Write the chunk's status changes in one batch, each with its audit row."""
        changes: dict[str, CertificateStatus] = {}
        audits = []
        for candidate in chunk:
            cert = candidate.certificate
            policy = policies.get(cert.renewal_policy_id or "")
            wanted = _status_change(cert, policy, now)
            if wanted is None:
                continue
            changes[cert.id] = wanted
            audits.append(
                audit_event(
                    self.runtime,
                    caller=SYSTEM_CALLER,
                    action="certificate_status_changed",
                    resource_type="certificate",
                    resource_id=cert.id,
                    details={"from": cert.status.value, "to": wanted.value},
                )
            )
        if changes:
            await uow.certificates.set_statuses(changes, now)
            await uow.audit.add_all(audits)
        summary.status_changes += len(changes)

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
        crossed = crossed_thresholds(
            policy, expires_at=cert.expires_at, not_before=candidate.not_before, now=now
        )
        late = overdue(
            renews_itself=cert.issuer_id is not None,
            policy=policy,
            expires_at=cert.expires_at,
            now=now,
            grace=self.runtime.alerting.overdue_grace,
        )
        if not crossed and not late:
            return
        subject = self._subject(candidate, now)
        text = expiry_text(subject.facts, subject.left, now)  # the same for every threshold
        for threshold in crossed:
            self._decide_alert(
                AlertKind.EXPIRY, subject, threshold, text, now, known, batch, summary
            )
        if not late:
            return
        tier = self.runtime.alerting.tier_of(AlertKind.OVERDUE)
        window = policy.renewal_window_days if policy else DEFAULT_WINDOW_DAYS
        for decision in overdue_decisions(policy, crossed, tier):
            label = str(decision.threshold)
            text = overdue_text(
                subject.facts, threshold=label, left=subject.left, window_days=window
            )
            self._decide_alert(
                AlertKind.OVERDUE, subject, decision, text, now, known, batch, summary
            )

    def _subject(self, candidate: AlertCandidate, now: datetime) -> _Subject:
        """What every decision about `candidate` says, worked out once."""
        facts = self._facts(candidate)
        left = _left(candidate, now)
        return _Subject(
            candidate=candidate,
            facts=facts,
            left=left,
            context={**facts.context(), "days_left": left},
            recipients=recipients_of(candidate.owner_email, self.extra_recipients),
        )

    def _decide_alert(
        self,
        kind: AlertKind,
        subject: _Subject,
        threshold: ThresholdDecision,
        text: MessageText,
        now: datetime,
        known: set[str],
        batch: _Batch,
        summary: ScanSummary,
    ) -> None:
        candidate = subject.candidate
        cert = candidate.certificate
        label = str(threshold.threshold)
        decisions = threshold.channels or (
            ChannelDecision(threshold.threshold, threshold.tier, "", valid=False),
        )
        alert: Alert | None = None
        for decision in decisions:
            key = _delivery_dedup(kind, cert.id, candidate.version_ref, label, decision.channel)
            if key in known:
                summary.deduped += 1 if decision.valid else 0
                if kind is AlertKind.EXPIRY:
                    self._dedup_metric(decision)
                continue
            alert = alert or batch.alert(
                new_alert(
                    kind=kind,
                    certificate_id=cert.id,
                    version_id=candidate.version_ref,
                    threshold=label,
                    tier=threshold.tier,
                    subject=text.subject,
                    now=now,
                )
            )
            event = delivery(
                alert=alert,
                kind=_NOTIFICATION_KINDS[kind],
                decision=decision,
                text=text,
                context=subject.context,
                recipients=subject.recipients,
                dedup=key,
                now=now,
                threshold_days=threshold.threshold
                if isinstance(threshold.threshold, int)
                else None,
                days_left=subject.left,
            )
            batch.events.append(event)
            batch.audits[event.id] = self._audit(event, decision, kind)

    def _facts(self, candidate: AlertCandidate) -> CertificateFacts:
        cert = candidate.certificate
        return CertificateFacts(
            certificate_id=cert.id,
            name=cert.name,
            common_name=cert.common_name,
            sans=tuple(cert.sans),
            environment=cert.environment or "",
            owner_name=candidate.owner_name,
            team_name=candidate.team_name,
            issuer_name=candidate.issuer_name,
            expires_at=cert.expires_at,
            link=self._link(cert.id),
        )

    def _link(self, cert_id: str) -> str | None:
        return f"{self.public_url}/certificates/{cert_id}" if self.public_url else None

    def _audit(
        self, event: NotificationEvent, decision: ChannelDecision, kind: AlertKind
    ) -> AuditEvent:
        details: dict[str, Any] = {
            "threshold_days": decision.threshold,
            "days_until_expiry": event.days_until_expiry,
            "severity_tier": decision.tier,
        }
        prefix = "expiration" if kind is AlertKind.EXPIRY else kind.value
        if not decision.channel:
            action = f"{prefix}_alert_skipped_no_channels"
        elif not decision.valid:
            action = f"{prefix}_alert_skipped_invalid_channel"
            details["invalid_channel"] = decision.channel
        else:
            action = f"{prefix}_alert_sent"
            details["channel"] = decision.channel
            details["notification_id"] = event.id
            details["alert_id"] = event.alert_id
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
                if valid and event.kind is NotificationKind.EXPIRATION:
                    self._dedup_metric_raw(event.channel, event.context.get("threshold"))
            elif event.channel == NO_CHANNEL:
                summary.skipped_no_channels += 1
            elif not valid:
                summary.invalid_channels += 1
            else:
                summary.alerts_enqueued += 1

    def _dedup_metric(self, decision: ChannelDecision) -> None:
        if decision.valid:
            self._dedup_metric_raw(decision.channel, decision.threshold)

    def _dedup_metric_raw(self, channel: str, threshold: object) -> None:
        self.metrics.expiry_alerts.labels(
            channel=channel, threshold=str(threshold), result="deduped"
        ).inc()


def _status_change(
    cert: ManagedCertificate, policy: RenewalPolicy | None, now: datetime
) -> CertificateStatus | None:
    """The status an Active or Expiring certificate's dates call for, when it differs."""
    if cert.status not in _ALERTING_STATUSES or cert.expires_at is None:
        return None
    window = policy.renewal_window_days if policy else 30
    wanted = status_for_expiry(cert.expires_at, now, window)
    return None if wanted is cert.status else wanted


def _left(candidate: AlertCandidate, now: datetime) -> int:
    assert candidate.certificate.expires_at is not None
    return days_left(candidate.certificate.expires_at, now)


def _delivery_dedup(
    kind: AlertKind, certificate_id: str, version: str, threshold: str, channel: str
) -> str:
    """Expiry keys are those of SPEC C2 (kept across upgrades); other kinds add their name."""
    if kind is AlertKind.EXPIRY:
        return dedup_key(certificate_id, version, key_of(threshold), channel)
    return delivery_key(kind.value, certificate_id, version, threshold, channel)


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
