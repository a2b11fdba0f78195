"""Renewal-failure alerts: a failed issuing job raises an alert carrying its cause (C3).

The alert routes through the certificate's policy matrix at the tier the kind → tier map
gives (`CERTCTL_ALERT_KIND_TIERS`, critical by default), like an expiry alert, and is
written in the transaction that records the failure.
"""

from __future__ import annotations

from datetime import datetime

from certctl.db.uow import UnitOfWork
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.alert_lifecycle import Alert, AlertKind, cause_text, failure_cause
from certctl.domain.alerts import ChannelDecision, NotificationKind, days_left, tier_channels
from certctl.domain.certificates import ManagedCertificate
from certctl.domain.jobs import Job
from certctl.domain.messages import renewal_failed_text
from certctl.domain.notifications import NotificationEvent
from certctl.services.alert_outbox import (
    certificate_facts,
    delivery,
    delivery_key,
    new_alert,
    recipients_of,
    store,
)
from certctl.services.audit import audit_event
from certctl.services.runtime import Runtime


async def raise_renewal_failure(
    uow: UnitOfWork, runtime: Runtime, job: Job, cert: ManagedCertificate, now: datetime
) -> Alert:
    """Open the renewal-failure alert of `job` and queue a delivery per channel of its tier."""
    problem = (job.order_state or {}).get("problem")
    problem_type = problem.get("type") if isinstance(problem, dict) else None
    cause = failure_cause(job.last_error, problem_type if isinstance(problem_type, str) else None)
    cause_line = cause_text(cause, job.last_error)
    facts, email = await certificate_facts(uow, runtime, cert)
    left = days_left(cert.expires_at, now) if cert.expires_at else None
    job_facts = {
        "id": job.id,
        "type": job.type.value,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
    }
    text = renewal_failed_text(facts, job=job_facts, cause=cause_line, left=left)
    versions = await uow.versions.for_certificate(cert.id)
    version_id = versions[0].id if versions else ""
    tier = runtime.alerting.tier_of(AlertKind.RENEWAL_FAILED)
    alert = new_alert(
        kind=AlertKind.RENEWAL_FAILED,
        certificate_id=cert.id,
        version_id=version_id,
        threshold=None,
        tier=tier,
        subject=text.subject,
        now=now,
        cause=cause_line,
        job_id=job.id,
    )
    policy = await uow.policies.get(cert.renewal_policy_id) if cert.renewal_policy_id else None
    decisions = tier_channels(policy, job.id, tier) or (ChannelDecision(job.id, tier, "", False),)
    context = {
        **facts.context(),
        "days_left": left,
        "job_id": job.id,
        "job_type": job.type.value,
        "attempts": job.attempts,
        "error": job.last_error,
        "cause": cause_line,
        "cause_category": cause.value,
        "ca_problem": problem,
    }
    events: list[NotificationEvent] = [
        delivery(
            alert=alert,
            kind=NotificationKind.RENEWAL_FAILED,
            decision=decision,
            text=text,
            context=context,
            recipients=recipients_of(email, runtime.alerting.extra_recipients),
            dedup=delivery_key("renewal_failed", cert.id, job.id, decision.channel),
            now=now,
            days_left=left,
        )
        for decision in decisions
    ]
    inserted, offered, _ = await store(uow, runtime, {alert.dedup_key: alert}, events)
    await uow.audit.add_all(
        [
            audit_event(
                runtime,
                caller=SYSTEM_CALLER,
                action="renewal_failed_alert_queued",
                resource_type="certificate",
                resource_id=cert.id,
                details={"alert_id": e.alert_id, "channel": e.channel, "cause": cause.value},
            )
            for e in offered
            if e.id in inserted
        ]
    )
    return alert
