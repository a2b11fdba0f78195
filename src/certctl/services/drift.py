"""Drift (C8): re-probe every deployed endpoint and compare what it serves with the current version.

One drift is recorded per certificate-target mapping; it is notified through the outbox once
(when it appears or changes), a later match clears it, and a target whose config says
`redeploy_on_drift: true` gets a Deployment job for its agent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from certctl.connectors import ssrf
from certctl.connectors.tlsprobe import ProbeFailed, ServedChain, probe
from certctl.db.uow import UnitOfWork
from certctl.domain.access import SYSTEM_CALLER, Caller, Permission
from certctl.domain.alerts import NotificationKind
from certctl.domain.drift import Drift, VerifyEndpoint, classify, is_new_drift, verify_endpoint
from certctl.domain.ids import new_id
from certctl.domain.inventory import DeploymentTarget
from certctl.domain.jobs import Job, JobFilter, JobStatus, JobType
from certctl.domain.listing import PageRequest, SortKey
from certctl.domain.messages import drift_text
from certctl.errors import InvalidRequest
from certctl.services.audit import record
from certctl.services.lifecycle import enqueue_lifecycle
from certctl.services.runtime import Runtime

log = structlog.get_logger("certctl.drift")
Prober = Callable[..., Awaitable[ServedChain]]
STALE_TEXT = "renewed but not reloaded: the endpoint still serves an older version"
FOREIGN_TEXT = "the endpoint serves a certificate that is not a version of this one"


@dataclass(frozen=True)
class DriftSummary:
    """What one drift pass saw."""

    checked: int = 0
    matching: int = 0
    new_drifts: int = 0
    ongoing: int = 0
    cleared: int = 0
    unreachable: int = 0
    jobs_created: int = 0


class DriftService:
    """The drift check and the list of open drifts."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        allow_private: bool,
        timeout_seconds: float = 5.0,
        extra_recipients: tuple[str, ...] = (),
        prober: Prober = probe,
    ) -> None:
        self.runtime = runtime
        self.allow_private = allow_private
        self.timeout_seconds = timeout_seconds
        self.extra_recipients = extra_recipients
        self.prober = prober

    async def list(self, caller: Caller) -> list[Drift]:
        """Every open drift, newest first."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await uow.drift.all()

    async def check_all(self) -> DriftSummary:
        """One pass over every enabled target with a verify endpoint and its certificates."""
        async with self.runtime.db.uow() as uow:
            mappings = await uow.drift.checked_mappings()
        summary = DriftSummary()
        for target, cert_id in mappings:
            summary = await self._check(target, cert_id, summary)
        return summary

    async def _check(
        self, target: DeploymentTarget, cert_id: str, summary: DriftSummary
    ) -> DriftSummary:
        try:
            endpoint = verify_endpoint(target.config)
            assert endpoint is not None  # checked_mappings keeps only targets that have one
            await ssrf.check_host_async(
                endpoint.host, endpoint.port, allow_private=self.allow_private, field="endpoint"
            )
            served = await self.prober(
                endpoint.host,
                endpoint.port,
                server_name=endpoint.server_name,
                deadline_seconds=self.timeout_seconds,
            )
        except (InvalidRequest, ProbeFailed) as exc:
            log.warning("drift.unreachable", target_id=target.id, reason=str(exc))
            return replace(summary, unreachable=summary.unreachable + 1)
        async with self.runtime.db.uow() as uow:
            outcome = await self._compare(uow, target, cert_id, endpoint, served.leaf_sha256)
        return _tally(replace(summary, checked=summary.checked + 1), outcome)

    async def _compare(
        self,
        uow: UnitOfWork,
        target: DeploymentTarget,
        cert_id: str,
        endpoint: VerifyEndpoint,
        served: str,
    ) -> str:
        # The current version is the one issued last: a local CA backdates not_before, so an
        # imported older certificate may start later than its renewal.
        versions = sorted(
            await uow.versions.for_certificate(cert_id),
            key=lambda v: (v.created_at, v.not_before),
            reverse=True,
        )
        if not versions:
            return "matching"
        expected = versions[0].fingerprint_sha256
        kind = classify(served, expected, {v.fingerprint_sha256 for v in versions[1:]})
        previous = await uow.drift.get(cert_id, target.id)
        now = self.runtime.clock.now()
        if kind is None:
            if previous is None:
                return "matching"
            await uow.drift.clear(cert_id, target.id)
            await self._audit(uow, "drift_cleared", cert_id, target.id, served=served)
            return "cleared"
        if previous is not None and not is_new_drift(previous, served, expected):
            await uow.drift.save(replace(previous, last_checked_at=now))
            return "ongoing"
        drift = Drift(
            certificate_id=cert_id,
            target_id=target.id,
            endpoint=f"{endpoint.host}:{endpoint.port}",
            kind=kind,
            served_fingerprint=served,
            expected_fingerprint=expected,
            detected_at=now,
            last_checked_at=now,
            server_name=endpoint.server_name,
        )
        job_id = await self._redeploy(uow, target, cert_id, now)
        await uow.drift.save(replace(drift, job_id=job_id))
        await self._notify(uow, drift, target, now)
        await self._audit(
            uow, "drift_detected", cert_id, target.id, served=served, kind=kind.value, job_id=job_id
        )
        return "redeployed" if job_id else "new"

    async def _redeploy(
        self, uow: UnitOfWork, target: DeploymentTarget, cert_id: str, now: datetime
    ) -> str | None:
        if target.config.get("redeploy_on_drift") is not True:
            return None
        open_jobs = await uow.jobs.search(
            request=PageRequest(page=1, per_page=100),
            filters=JobFilter(certificate_id=cert_id, type=JobType.DEPLOYMENT),
            sort=SortKey("created_at"),
        )
        for job in open_jobs.items:
            if job.is_open and job.target_id == target.id:
                return job.id
        job = Job(
            id=new_id("job", now),
            type=JobType.DEPLOYMENT,
            certificate_id=cert_id,
            status=JobStatus.PENDING,
            created_at=now,
            updated_at=now,
            status_changed_at=now,
            scheduled_at=now,
            requested_by=SYSTEM_CALLER.principal.name,
            target_id=target.id,
            agent_id=target.agent_id,
        )
        await uow.jobs.add(job)
        await record(
            uow,
            self.runtime,
            caller=SYSTEM_CALLER,
            action="job_created",
            resource_type="job",
            resource_id=job.id,
            details={
                "type": job.type.value,
                "certificate_id": cert_id,
                "status": job.status.value,
                "trigger": "drift",
                "target_id": target.id,
            },
        )
        return job.id

    async def _notify(
        self, uow: UnitOfWork, drift: Drift, target: DeploymentTarget, now: datetime
    ) -> None:
        cert = await uow.certificates.require(drift.certificate_id)
        what = STALE_TEXT if drift.kind.value == "stale" else FOREIGN_TEXT
        await enqueue_lifecycle(
            uow,
            self.runtime,
            kind=NotificationKind.DRIFT,
            cert=cert,
            ref=f"{target.id}:{drift.served_fingerprint[:16]}:{int(now.timestamp())}",
            render=lambda facts: drift_text(
                facts,
                target_name=target.name,
                endpoint=drift.endpoint,
                kind=drift.kind.value,
                what=what,
                served=drift.served_fingerprint,
                expected=drift.expected_fingerprint,
            ),
            context={
                "target_id": target.id,
                "endpoint": drift.endpoint,
                "drift_kind": drift.kind.value,
                "served_fingerprint": drift.served_fingerprint,
                "expected_fingerprint": drift.expected_fingerprint,
            },
            extra_recipients=self.extra_recipients,
        )

    async def _audit(
        self, uow: UnitOfWork, action: str, cert_id: str, target_id: str, **details: object
    ) -> None:
        await record(
            uow,
            self.runtime,
            caller=SYSTEM_CALLER,
            action=action,
            resource_type="certificate",
            resource_id=cert_id,
            details={"target_id": target_id, **{k: v for k, v in details.items() if v}},
        )


def _tally(summary: DriftSummary, outcome: str) -> DriftSummary:
    if outcome == "matching":
        return replace(summary, matching=summary.matching + 1)
    if outcome == "cleared":
        return replace(summary, cleared=summary.cleared + 1)
    if outcome == "ongoing":
        return replace(summary, ongoing=summary.ongoing + 1)
    jobs = summary.jobs_created + (outcome == "redeployed")
    return replace(summary, new_drifts=summary.new_drifts + 1, jobs_created=jobs)
