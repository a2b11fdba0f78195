"""The job moves shared by requests, the processor, the renewal scan and bulk operations.

Opening an issuing job, completing it (and fanning out Deployment jobs), failing it with its
alert, and the audit row of every move: each runs inside the caller's unit of work.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from certctl.db.uow import UnitOfWork
from certctl.domain.access import SYSTEM_CALLER, Caller
from certctl.domain.certificates import (
    CertificateStatus,
    CertificateVersion,
    ManagedCertificate,
    status_for_expiry,
)
from certctl.domain.ids import new_id
from certctl.domain.jobs import (
    DEFAULT_LEASE,
    ISSUING,
    Job,
    JobStatus,
    JobType,
    still_mine,
    transition,
)
from certctl.domain.renewal import DEFAULT_WINDOW_DAYS, FINAL
from certctl.errors import NotFound
from certctl.metrics import Metrics
from certctl.services.audit import record
from certctl.services.issuance import IssuanceService, certificate_profile
from certctl.services.renewal_alerts import raise_renewal_failure
from certctl.services.renewal_info import RenewalInfoService
from certctl.services.runtime import Runtime

RESOURCE = "job"


def _node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobTransitions:
    """State and moves every part of the job service shares."""

    def __init__(
        self,
        runtime: Runtime,
        issuance: IssuanceService,
        *,
        keygen_mode: str = "agent",
        extra_recipients: Sequence[str] = (),
        lease: timedelta = DEFAULT_LEASE,
        metrics: Metrics | None = None,
    ) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.issuance = issuance
        self.keygen_mode = keygen_mode
        self.extra_recipients = tuple(extra_recipients)
        self.lease = lease
        self.node_id = _node_id()
        self.renewal_info = RenewalInfoService(runtime, issuance.connectors)

    async def _open_job(
        self,
        uow: UnitOfWork,
        caller: Caller,
        cert: ManagedCertificate,
        *,
        trigger: str,
        scheduled_at: datetime | None = None,
    ) -> Job | None:
        """Insert an issuing job (None when one is already open) and mark the certificate."""
        now = self.runtime.clock.now()
        policy = await uow.policies.get(cert.renewal_policy_id) if cert.renewal_policy_id else None
        profile = await certificate_profile(uow, cert)
        job_type = JobType.ISSUANCE if cert.expires_at is None else JobType.RENEWAL
        status = JobStatus.AWAITING_APPROVAL if profile.requires_approval else JobStatus.PENDING
        job = Job(
            id=new_id("job", now),
            type=job_type,
            certificate_id=cert.id,
            status=status,
            created_at=now,
            updated_at=now,
            status_changed_at=now,
            scheduled_at=max(now, scheduled_at or now),
            requested_by=caller.principal.name,
            max_attempts=(policy.max_retries if policy else 3) + 1,
            retry_interval_seconds=policy.retry_interval_seconds if policy else 3600,
        )
        if not await uow.jobs.add_unless_open(job):
            return None
        if cert.status is not CertificateStatus.RENEWAL_IN_PROGRESS:
            await uow.certificates.update_own_columns(
                dataclasses.replace(
                    cert, status=CertificateStatus.RENEWAL_IN_PROGRESS, updated_at=now
                )
            )
        await record(
            uow,
            self.runtime,
            caller=caller,
            action="job_created",
            resource_type=RESOURCE,
            resource_id=job.id,
            details={
                "type": job.type.value,
                "certificate_id": cert.id,
                "status": job.status.value,
                "trigger": trigger,
                "previous_certificate_status": cert.status.value,
            },
        )
        return job

    async def _lock(self, uow: UnitOfWork, job_id: str) -> Job:
        job = await uow.jobs.lock(job_id)
        if job is None:
            raise NotFound(RESOURCE, job_id)
        return job

    async def _owner_identities(self, uow: UnitOfWork, job: Job) -> frozenset[str]:
        cert = await uow.certificates.get(job.certificate_id)
        if cert is None or not cert.owner_id:
            return frozenset()
        owner = await uow.owners.get(cert.owner_id)
        return frozenset({owner.name, owner.email}) if owner else frozenset()

    async def _complete(
        self, job_id: str, caller: Caller, version: CertificateVersion, *, expect_owner: str | None
    ) -> None:
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            current = await uow.jobs.lock(job_id)
            if current is None or not current.is_open:
                return
            if expect_owner is not None and not still_mine(current, expect_owner):
                return
            after = transition(
                current,
                JobStatus.COMPLETED,
                now,
                completed_at=now,
                last_error=None,
                lease_owner=None,
                lease_expires_at=None,
            )
            await uow.jobs.update(after)
            await self._audit(
                uow,
                caller,
                "job_completed",
                after,
                version_id=version.id,
                serial_number=version.serial_number,
            )
            await self._deployments(uow, caller, after, now)

    async def _deployments(self, uow: UnitOfWork, caller: Caller, job: Job, now: datetime) -> None:
        """A Deployment job per enabled target of the certificate, for its agent to pick up."""
        cert = await uow.certificates.require(job.certificate_id)
        await self._queue_deployments(
            uow,
            caller,
            cert,
            now,
            trigger=job.id,
            max_attempts=job.max_attempts,
            retry_interval_seconds=job.retry_interval_seconds,
        )

    async def _queue_deployments(
        self,
        uow: UnitOfWork,
        caller: Caller,
        cert: ManagedCertificate,
        now: datetime,
        *,
        trigger: str,
        max_attempts: int = 1,
        retry_interval_seconds: int = 3600,
    ) -> list[Job]:
        """Insert a Pending Deployment job per enabled target that has none open yet."""
        queued: list[Job] = []
        for target_id in cert.target_ids:
            target = await uow.targets.get(target_id)
            if target is None or not target.enabled:
                continue
            if await uow.jobs.open_deployment(cert.id, target.id) is not None:
                continue
            deployment = Job(
                id=new_id("job", now),
                type=JobType.DEPLOYMENT,
                certificate_id=cert.id,
                status=JobStatus.PENDING,
                created_at=now,
                updated_at=now,
                status_changed_at=now,
                scheduled_at=now,
                requested_by=caller.principal.name,
                target_id=target.id,
                agent_id=target.agent_id,
                max_attempts=max_attempts,
                retry_interval_seconds=retry_interval_seconds,
            )
            await uow.jobs.add(deployment)
            await self._audit(
                uow, caller, "job_created", deployment, trigger=trigger, target_id=target.id
            )
            queued.append(deployment)
        return queued

    async def _on_failed(self, uow: UnitOfWork, job: Job, now: datetime) -> None:
        """Audit a failed job, mark its certificate Failed and queue the renewal-failure alert."""
        await self._audit(
            uow, SYSTEM_CALLER, "job_failed", job, error=job.last_error, attempts=job.attempts
        )
        cert = await uow.certificates.get(job.certificate_id)
        if cert is None or cert.status in FINAL:
            return
        if cert.status is not CertificateStatus.FAILED:
            await uow.certificates.update_own_columns(
                dataclasses.replace(cert, status=CertificateStatus.FAILED, updated_at=now)
            )
        await raise_renewal_failure(uow, self.runtime, job, cert, now)

    async def _restore_certificate(self, uow: UnitOfWork, job: Job, now: datetime) -> None:
        """A cancelled issuing job gives the certificate back the status its dates imply."""
        if job.type not in ISSUING:
            return
        cert = await uow.certificates.get(job.certificate_id)
        if cert is None or cert.status is not CertificateStatus.RENEWAL_IN_PROGRESS:
            return
        policy = await uow.policies.get(cert.renewal_policy_id) if cert.renewal_policy_id else None
        window = policy.renewal_window_days if policy else DEFAULT_WINDOW_DAYS
        status = (
            status_for_expiry(cert.expires_at, now, window)
            if cert.expires_at
            else CertificateStatus.PENDING
        )
        await uow.certificates.update_own_columns(
            dataclasses.replace(cert, status=status, updated_at=now)
        )

    # --- Helpers ---------------------------------------------------------------------------

    async def _audit(
        self, uow: UnitOfWork, caller: Caller, action: str, job: Job, **details: Any
    ) -> None:
        await record(
            uow,
            self.runtime,
            caller=caller,
            action=action,
            resource_type=RESOURCE,
            resource_id=job.id,
            details={
                "type": job.type.value,
                "certificate_id": job.certificate_id,
                "status": job.status.value,
                **{k: v for k, v in details.items() if v is not None},
            },
        )
