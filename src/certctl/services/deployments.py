"""Deployment jobs: queued on demand, reported by their agent, failed when the agent goes silent.

Every issuance or renewal already queues one Deployment job per enabled target
(job_transitions); here a person asks for one again, an agent reports how its deployment
went, and the agent-health loop fails Running jobs whose agent stopped answering (C5, C7).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from certctl.db.uow import UnitOfWork
from certctl.domain.access import SYSTEM_CALLER, Caller, Permission
from certctl.domain.agents import DeployWork, ReportedStatus, check_report, offline_too_long
from certctl.domain.alerts import NotificationKind
from certctl.domain.jobs import Job, JobStatus, JobType, transition
from certctl.domain.messages import deployment_failed_text
from certctl.errors import Conflict, NotFound
from certctl.services.job_transitions import JobTransitions
from certctl.services.lifecycle import enqueue_lifecycle


@dataclass
class StalledSummary:
    """Running jobs failed because their agent went silent."""

    failed: int = 0
    job_ids: list[str] = field(default_factory=list)


class Deployments(JobTransitions):
    """Deployment jobs' side of the job service."""

    async def request_deploy(self, caller: Caller, cert_id: str) -> list[Job]:
        """Queue a Deployment job per enabled target with none open (the current version)."""
        caller.principal.require(Permission.WRITE)
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            cert = await uow.certificates.require(cert_id)
            if not await uow.versions.for_certificate(cert_id):
                raise Conflict(f"certificate {cert_id!r} has never been issued: nothing to deploy")
            return await self._queue_deployments(uow, caller, cert, now, trigger="manual")

    async def start_deployment(
        self, uow: UnitOfWork, caller: Caller, job: Job, lease_until: datetime
    ) -> DeployWork | None:
        """Start a claimed deployment (Running, attempts + 1) with the current version.

        A job whose target or certificate version is gone fails at once instead.
        """
        now = self.runtime.clock.now()
        target = await uow.targets.get(job.target_id) if job.target_id else None
        versions = await uow.versions.for_certificate(job.certificate_id)
        if target is None or not versions:
            gone = "the target no longer exists" if target is None else "no issued version"
            await self.fail_in(uow, SYSTEM_CALLER, job, gone, now)
            return None
        version = versions[0]
        state = {"version_id": version.id, "fingerprint_sha256": version.fingerprint_sha256}
        if job.status is JobStatus.PENDING:
            job = transition(job, JobStatus.RUNNING, now, attempts=job.attempts + 1, started_at=now)
        running = dataclasses.replace(
            job,
            updated_at=now,
            lease_owner=caller.principal.name,
            lease_expires_at=lease_until,
            order_state={**(job.order_state or {}), **state},
        )
        await uow.jobs.update(running)
        await self._audit(
            uow, caller, "job_started", running, attempt=running.attempts, version_id=version.id
        )
        return DeployWork(
            job_id=job.id,
            certificate_id=job.certificate_id,
            version_id=version.id,
            fingerprint_sha256=version.fingerprint_sha256,
            target_id=target.id,
            target_type=target.type.value,
            target_config=dict(target.config),
        )

    async def report(
        self,
        caller: Caller,
        *,
        agent_id: str,
        job_id: str,
        status: ReportedStatus,
        reason: str | None,
        served_sha256: str | None,
    ) -> Job:
        """Record what an agent says about one of its jobs (another agent's job is a 404)."""
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            job = await uow.jobs.lock(job_id)
            if job is None or job.agent_id != agent_id:
                raise NotFound("job", job_id)
            text = check_report(job, status, reason)
            if status is ReportedStatus.RUNNING:
                return job
            expected = (job.order_state or {}).get("fingerprint_sha256")
            if status is ReportedStatus.COMPLETED and served_sha256 and served_sha256 != expected:
                status = ReportedStatus.FAILED
                text = f"the endpoint serves {served_sha256}, not the deployed {expected}"
            if status is ReportedStatus.FAILED:
                return await self.fail_in(uow, caller, job, text or "failed", now)
            return await self._completed(uow, caller, job, served_sha256, now)

    async def _completed(
        self, uow: UnitOfWork, caller: Caller, job: Job, served: str | None, now: datetime
    ) -> Job:
        after = transition(
            job,
            JobStatus.COMPLETED,
            now,
            completed_at=now,
            last_error=None,
            lease_owner=None,
            lease_expires_at=None,
        )
        await uow.jobs.update(after)
        if self.metrics is not None:
            self.metrics.deployments.labels("completed").inc()
        cert = await uow.certificates.get(job.certificate_id)
        if cert is not None:
            await uow.certificates.update_own_columns(
                dataclasses.replace(cert, last_deployment_at=now, updated_at=now)
            )
        await self._audit(
            uow,
            caller,
            "job_completed",
            after,
            target_id=job.target_id,
            fingerprint_sha256=(job.order_state or {}).get("fingerprint_sha256"),
            served_sha256=served,
        )
        return after

    async def fail_in(
        self, uow: UnitOfWork, caller: Caller, job: Job, reason: str, now: datetime
    ) -> Job:
        """Fail an open job in the caller's unit of work, with its audit row and alert."""
        after = transition(
            job,
            JobStatus.FAILED,
            now,
            last_error=reason[:2000],
            completed_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
        await uow.jobs.update(after)
        if after.type is JobType.DEPLOYMENT:
            if self.metrics is not None:
                self.metrics.deployments.labels("failed").inc()
            await self._on_deployment_failed(uow, caller, after)
        else:
            await self._on_failed(uow, after, now)
        return after

    async def _on_deployment_failed(self, uow: UnitOfWork, caller: Caller, job: Job) -> None:
        """Audit a failed deployment and queue the deployment-failure notification (outbox)."""
        await self._audit(
            uow, caller, "job_failed", job, error=job.last_error, target_id=job.target_id
        )
        cert = await uow.certificates.get(job.certificate_id)
        if cert is None:
            return
        target = await uow.targets.get(job.target_id) if job.target_id else None
        target_name = target.name if target else (job.target_id or "-")
        await enqueue_lifecycle(
            uow,
            self.runtime,
            kind=NotificationKind.DEPLOYMENT_FAILED,
            cert=cert,
            ref=job.id,
            render=lambda facts: deployment_failed_text(
                facts, job_id=job.id, target_name=target_name, error=job.last_error or ""
            ),
            context={
                "job_id": job.id,
                "job_type": job.type.value,
                "target_id": job.target_id,
                "agent_id": job.agent_id,
                "error": job.last_error,
            },
            extra_recipients=self.extra_recipients,
        )

    async def fail_stalled(self) -> StalledSummary:
        """Fail Running jobs whose agent has been silent over 5 minutes (C5), audited."""
        now = self.runtime.clock.now()
        summary = StalledSummary()
        async with self.runtime.db.uow() as uow:
            for job in await uow.jobs.running_on_agents():
                agent = await uow.agents.get(job.agent_id or "")
                if agent is not None and not offline_too_long(agent.last_heartbeat_at, now):
                    continue
                name = agent.name if agent else job.agent_id
                reason = f"agent {name!r} has been offline for more than 5 minutes"
                await self.fail_in(uow, SYSTEM_CALLER, job, reason, now)
                summary.failed += 1
                summary.job_ids.append(job.id)
        return summary
