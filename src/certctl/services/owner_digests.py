"""Per-owner digests: one e-mail per owner and period of what needs a person (C3).

For each owner who opted in (`digest` daily or weekly), the digest lists the open critical
alerts of the owner's certificates, their open renewal-failure alerts and their jobs waiting
for an approval. It goes through the outbox as an Email row whose dedup key names the owner
and the period, so it is sent once per period however often the loop runs; an owner with
nothing to act on gets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from certctl.db.uow import UnitOfWork
from certctl.domain.alert_lifecycle import AlertKind, AlertState
from certctl.domain.alerts import NotificationKind
from certctl.domain.ids import new_id
from certctl.domain.inventory import Owner
from certctl.domain.jobs import JobFilter, JobStatus
from certctl.domain.listing import MAX_PER_PAGE, PageRequest, SortKey
from certctl.domain.messages import owner_digest_text
from certctl.domain.notifications import NotificationEvent, NotificationStatus
from certctl.domain.owner_digests import DigestFrequency, digest_period
from certctl.domain.policies import AlertChannel, SeverityTier
from certctl.services.alert_outbox import delivery_key
from certctl.services.alert_records import AlertFilter
from certctl.services.runtime import Runtime


@dataclass
class DigestSummary:
    """What one digest pass did."""

    owners_considered: int = 0
    digests_queued: int = 0
    nothing_to_act_on: int = 0
    owner_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Pending:
    """One owner's items, one display line each."""

    critical_alerts: list[str]
    failed_renewals: list[str]
    pending_approvals: list[str]

    @property
    def empty(self) -> bool:
        return not (self.critical_alerts or self.failed_renewals or self.pending_approvals)


async def send_owner_digests(runtime: Runtime) -> DigestSummary:
    """Queue the due digest of every owner who opted in and has something to act on."""
    now = runtime.clock.now()
    summary = DigestSummary()
    async with runtime.db.uow() as uow:
        approvals = await _approvals_by_owner(uow)
        for owner in await _opted_in(uow):
            period = digest_period(owner.digest, now)
            if period is None:
                continue
            summary.owners_considered += 1
            pending = await _pending(uow, owner, approvals.get(owner.id, []))
            if pending.empty:
                summary.nothing_to_act_on += 1
                continue
            event = _digest_row(runtime, owner, period, pending, now)
            if await uow.notifications.insert_new([event]):
                summary.digests_queued += 1
                summary.owner_ids.append(owner.id)
    return summary


async def _opted_in(uow: UnitOfWork) -> list[Owner]:
    """Owners whose digest is daily or weekly, by name."""
    owners: list[Owner] = []
    for frequency in (DigestFrequency.DAILY, DigestFrequency.WEEKLY):
        number = 1
        while True:
            page = await uow.owners.page(
                request=PageRequest(page=number, per_page=MAX_PER_PAGE),
                sort=SortKey("name"),
                equals={"digest": frequency.value},
            )
            owners += page.items
            if number * MAX_PER_PAGE >= page.total:
                break
            number += 1
    return owners


async def _approvals_by_owner(uow: UnitOfWork) -> dict[str, list[str]]:
    """Jobs waiting for an approval, as display lines, by the certificate's owner."""
    lines: dict[str, list[str]] = {}
    page = await uow.jobs.search(
        request=PageRequest(per_page=MAX_PER_PAGE),
        filters=JobFilter(status=JobStatus.AWAITING_APPROVAL),
        sort=SortKey("created_at"),
    )
    for job in page.items:
        cert = await uow.certificates.get(job.certificate_id)
        if cert is None or cert.owner_id is None:
            continue
        lines.setdefault(cert.owner_id, []).append(f"{cert.name}: {job.type.value} {job.id}")
    return lines


async def _pending(uow: UnitOfWork, owner: Owner, approvals: list[str]) -> _Pending:
    """The owner's open critical alerts, open renewal failures and pending approvals."""
    critical = await _alert_lines(
        uow,
        AlertFilter(
            owner_id=owner.id, state=AlertState.OPEN.value, tier=SeverityTier.CRITICAL.value
        ),
    )
    failed = await _alert_lines(
        uow,
        AlertFilter(
            owner_id=owner.id, state=AlertState.OPEN.value, kind=AlertKind.RENEWAL_FAILED.value
        ),
    )
    return _Pending(critical, failed, approvals)


async def _alert_lines(uow: UnitOfWork, filters: AlertFilter) -> list[str]:
    page = await uow.alerts.search(
        request=PageRequest(per_page=MAX_PER_PAGE), sort=SortKey("opened_at"), filters=filters
    )
    return [f"{alert.subject} ({alert.id})" for alert in page.items]


def _digest_row(
    runtime: Runtime, owner: Owner, period: str, pending: _Pending, now: datetime
) -> NotificationEvent:
    """The owner's Email digest row for `period` (its dedup key: owner and period)."""
    link = (
        f"{runtime.alerting.public_url}/alerts?owner_id={owner.id}"
        if runtime.alerting.public_url
        else None
    )
    text = owner_digest_text(
        owner_name=owner.name,
        period=period,
        critical_alerts=pending.critical_alerts,
        failed_renewals=pending.failed_renewals,
        pending_approvals=pending.pending_approvals,
        link=link,
    )
    return NotificationEvent(
        id=new_id("ne", now),
        kind=NotificationKind.DIGEST,
        channel=AlertChannel.EMAIL.value,
        status=NotificationStatus.PENDING,
        severity_tier=SeverityTier.INFORMATIONAL.value,
        subject=text.subject,
        message=text.body,
        incident_key=f"certctl-owner-digest-{owner.id}-{period}",
        created_at=now,
        updated_at=now,
        recipient=owner.email,
        context={
            "owner_id": owner.id,
            "owner_name": owner.name,
            "period": period,
            "critical_alerts": len(pending.critical_alerts),
            "failed_renewals": len(pending.failed_renewals),
            "pending_approvals": len(pending.pending_approvals),
        },
        dedup_key=delivery_key("owner_digest", owner.id, period),
    )
