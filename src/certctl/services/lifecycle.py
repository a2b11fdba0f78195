"""Lifecycle notices (revocation) written to the outbox, and job cancellation (C6).

Renewal failures are alerts routed by the policy matrix (`renewal_alerts`); a revocation
notice goes to Email (the owner plus the extra recipients) and the signed webhook, in
the same transaction as the change they report, so none is lost; the dispatcher delivers,
retries or dead-letters them like expiry alerts. A channel that is not configured ends
`skipped`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller
from certctl.domain.alerts import NotificationKind
from certctl.domain.certificates import ManagedCertificate
from certctl.domain.ids import new_id
from certctl.domain.jobs import JobFilter, JobStatus, transition
from certctl.domain.listing import MAX_PER_PAGE, PageRequest, SortKey
from certctl.domain.messages import CertificateFacts, MessageText
from certctl.domain.notifications import NotificationEvent, NotificationStatus
from certctl.services.alert_outbox import certificate_facts, recipients_of
from certctl.services.audit import record
from certctl.services.runtime import Runtime

LIFECYCLE_CHANNELS: tuple[str, ...] = ("Email", "Webhook")
_TIERS = {
    NotificationKind.REVOCATION: "warning",
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
    render: Callable[[CertificateFacts], MessageText],
    context: Mapping[str, Any],
    extra_recipients: Sequence[str] = (),
) -> int:
    """Queue one notification per lifecycle channel; `ref` makes each event unique once.

    `render` is the domain renderer of this notice: the words are not assembled here.
    """
    now = runtime.clock.now()
    facts, email = await certificate_facts(uow, runtime, cert)
    text = render(facts)
    events = [
        NotificationEvent(
            id=new_id("ne", now),
            kind=kind,
            channel=channel,
            status=NotificationStatus.PENDING,
            severity_tier=_TIERS[kind],
            subject=text.subject,
            message=text.body,
            incident_key=f"certctl-{cert.id}-{kind.value}-{ref}",
            created_at=now,
            updated_at=now,
            certificate_id=cert.id,
            version_ref=ref,
            recipient=",".join(recipients_of(email, extra_recipients)),
            context={**facts.context(), **context},
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
