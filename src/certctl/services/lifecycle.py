"""Lifecycle notifications (revocation, renewal failure) written to the outbox (C3, C6).

They go to Email (the owner plus the extra recipients) and the signed webhook by default, in
the same transaction as the change they report, so none is lost; the dispatcher delivers,
retries or dead-letters them like expiry alerts. A channel that is not configured ends
`skipped`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller
from certctl.domain.alerts import NotificationKind
from certctl.domain.certificates import ManagedCertificate
from certctl.domain.ids import new_id
from certctl.domain.jobs import JobFilter, JobStatus, transition
from certctl.domain.listing import MAX_PER_PAGE, PageRequest, SortKey
from certctl.domain.notifications import NotificationEvent, NotificationStatus
from certctl.services.audit import record
from certctl.services.runtime import Runtime

LIFECYCLE_CHANNELS: tuple[str, ...] = ("Email", "Webhook")
_TIERS = {
    NotificationKind.REVOCATION: "warning",
    NotificationKind.RENEWAL_FAILED: "critical",
    NotificationKind.DRIFT: "warning",
    NotificationKind.DEPLOYMENT_FAILED: "critical",
}


def _dedup(kind: NotificationKind, certificate_id: str, ref: str, channel: str) -> str:
    raw = f"{kind.value}|{certificate_id}|{ref}|{channel}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


async def enqueue_lifecycle(
    uow: UnitOfWork,
    runtime: Runtime,
    *,
    kind: NotificationKind,
    cert: ManagedCertificate,
    ref: str,
    subject: str,
    lines: Sequence[str],
    context: Mapping[str, Any],
    extra_recipients: Sequence[str] = (),
) -> int:
    """Queue one notification per lifecycle channel; `ref` makes each event unique once."""
    now = runtime.clock.now()
    owner = await uow.owners.get(cert.owner_id) if cert.owner_id else None
    recipients = tuple(dict.fromkeys([*([owner.email] if owner else []), *extra_recipients]))
    body = "\n".join(
        [
            subject,
            "",
            f"Certificate: {cert.name}",
            f"Common name: {cert.common_name}",
            f"Environment: {cert.environment or '-'}",
            f"Owner: {owner.name if owner else '-'}",
            *lines,
        ]
    )
    events = [
        NotificationEvent(
            id=new_id("ne", now),
            kind=kind,
            channel=channel,
            status=NotificationStatus.PENDING,
            severity_tier=_TIERS[kind],
            subject=subject,
            message=body,
            incident_key=f"certctl-{cert.id}-{kind.value}-{ref}",
            created_at=now,
            updated_at=now,
            certificate_id=cert.id,
            version_ref=ref,
            recipient=",".join(recipients),
            context={
                "certificate_name": cert.name,
                "common_name": cert.common_name,
                "environment": cert.environment,
                "owner_name": owner.name if owner else None,
                **context,
            },
            dedup_key=_dedup(kind, cert.id, ref, channel),
        )
        for channel in LIFECYCLE_CHANNELS
    ]
    return len(await uow.notifications.insert_new(events))


async def cancel_open_jobs(
    uow: UnitOfWork, runtime: Runtime, caller: Caller, certificate_id: str, reason: str
) -> list[str]:
    """Cancel every open job of a certificate that can no longer be issued (revoked, archived)."""
    now = runtime.clock.now()
    page = await uow.jobs.search(
        request=PageRequest(page=1, per_page=MAX_PER_PAGE),
        filters=JobFilter(certificate_id=certificate_id),
        sort=SortKey("created_at"),
    )
    cancelled: list[str] = []
    for job in page.items:
        if not job.is_open:
            continue
        after = transition(
            job,
            JobStatus.CANCELLED,
            now,
            completed_at=now,
            decision_reason=reason,
            lease_owner=None,
            lease_expires_at=None,
        )
        await uow.jobs.update(after)
        await record(
            uow,
            runtime,
            caller=caller,
            action="job_cancelled",
            resource_type="job",
            resource_id=job.id,
            details={"previous_status": job.status.value, "reason": reason},
        )
        cancelled.append(job.id)
    return cancelled
