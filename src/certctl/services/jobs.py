"""Issuance and renewal jobs: requests, approvals, the processor, timeouts and the renewal scan.

A job is claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL); a worker that dies
leaves its lease to expire and another replica reclaims the job. Every move of a job is
audited in the transaction that makes it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from certctl.connectors.issuers.base import IssuanceRefused
from certctl.db.engine import DATABASE_UNAVAILABLE
from certctl.db.uow import UnitOfWork
from certctl.domain.access import SYSTEM_CALLER, Caller, Permission
from certctl.domain.alerts import days_left
from certctl.domain.certificates import (
    CertificateFilter,
    CertificateStatus,
    CertificateVersion,
    ManagedCertificate,
    status_for_expiry,
)
from certctl.domain.ids import new_id
from certctl.domain.jobs import (
    BULK_LIMIT,
    DEFAULT_LEASE,
    ISSUING,
    OPEN,
    BulkResult,
    Job,
    JobFilter,
    JobStatus,
    JobType,
    after_failed_attempt,
    check_decider,
    check_reason,
    timed_out,
    timeout_reason,
    transition,
)
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.domain.policies import CertificateProfile, RenewalPolicy
from certctl.errors import (
    CertctlError,
    Conflict,
    ConnectorError,
    InvalidRequest,
    NotFound,
    UpstreamError,
)
from certctl.metrics import Metrics
from certctl.pki.csr import make_csr
from certctl.services.alerts import all_policies
from certctl.services.audit import record
from certctl.services.issuance import IssuanceService, certificate_profile
from certctl.services.renewal_alerts import raise_renewal_failure
from certctl.services.runtime import Runtime

log = structlog.get_logger("certctl.jobs")

RESOURCE = "job"
CLAIM_BATCH = 20
SCAN_CHUNK = 200
DEFAULT_WINDOW_DAYS = 30
# Certificates the renewal scan renews; Failed ones wait for a person (manual renew).
_RENEWABLE = (CertificateStatus.ACTIVE, CertificateStatus.EXPIRING, CertificateStatus.EXPIRED)
_FINAL = frozenset({CertificateStatus.REVOKED, CertificateStatus.ARCHIVED})


@dataclass
class ProcessSummary:
    """What one job processor tick did."""

    claimed: int = 0
    completed: int = 0
    awaiting_csr: int = 0
    retried: int = 0
    failed: int = 0
    crashed: int = 0


# The CA, the network or the database being down: a later attempt may succeed.
_RETRYABLE: tuple[type[Exception], ...] = (
    UpstreamError,
    TimeoutError,
    OSError,
    *DATABASE_UNAVAILABLE,
)


@dataclass
class RenewalScanSummary:
    """What one renewal scan did."""

    candidates: int = 0
    created: int = 0
    already_open: int = 0
    awaiting_approval: int = 0
    not_due: int = 0
    declined: int = 0


@dataclass
class TimeoutSummary:
    """Jobs failed for waiting too long."""

    failed: int = 0
    job_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BulkCriteria:
    """Which certificates a bulk operation covers: explicit ids and/or list filters."""

    certificate_ids: tuple[str, ...] = ()
    filters: CertificateFilter | None = None


class JobJournal:
    """The OrderJournal of one job: a long-running order's progress stored on the job row."""

    def __init__(self, runtime: Runtime, job_id: str) -> None:
        self.runtime = runtime
        self.job_id = job_id

    async def save(self, state: Mapping[str, Any]) -> None:
        """Record where the order stands, committed at once (a crash keeps it)."""
        async with self.runtime.db.uow() as uow:
            await uow.jobs.set_order_state(self.job_id, state)


def _node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobService:
    """Use cases of jobs."""

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

    # --- Reading ---------------------------------------------------------------------------

    async def search(
        self, caller: Caller, *, request: PageRequest, filters: JobFilter, sort: SortKey
    ) -> Page[Job]:
        """One filtered, sorted page of jobs."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await uow.jobs.search(request=request, filters=filters, sort=sort)

    async def get(self, caller: Caller, job_id: str) -> Job:
        """One job."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await uow.jobs.require(job_id)

    # --- Requests --------------------------------------------------------------------------

    async def request_renewal(self, caller: Caller, cert_id: str) -> Job:
        """Queue a renewal (an issuance for a certificate never issued) on request."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            cert = await uow.certificates.require(cert_id)
            _check_renewable(cert)
            existing = await uow.jobs.open_issuing(cert_id)
            if existing is not None:
                raise Conflict(
                    f"certificate already has an open {existing.type.value} job "
                    f"{existing.id!r} ({existing.status.value})"
                )
            job = await self._open_job(uow, caller, cert, trigger="manual")
            if job is None:  # lost a race with another request or the scan
                raise Conflict("certificate already has an open issuance or renewal job")
        return job

    async def _open_job(
        self, uow: UnitOfWork, caller: Caller, cert: ManagedCertificate, *, trigger: str
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
            scheduled_at=now,
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

    # --- Decisions -------------------------------------------------------------------------

    async def approve(self, caller: Caller, job_id: str, reason: str | None) -> Job:
        """Approve a job awaiting approval; neither its requester nor the owner may."""
        caller.principal.require(Permission.WRITE)
        text = check_reason(reason, required=False)
        async with self.runtime.db.uow() as uow:
            job = await self._lock(uow, job_id)
            _require_status(job, JobStatus.AWAITING_APPROVAL, "approved")
            check_decider(job, caller.principal.name, await self._owner_identities(uow, job))
            now = self.runtime.clock.now()
            after = transition(
                job,
                JobStatus.PENDING,
                now,
                approved_by=caller.principal.name,
                decision_reason=text,
                scheduled_at=now,
            )
            await uow.jobs.update(after)
            await self._audit(uow, caller, "job_approved", after, reason=text)
        return after

    async def reject(self, caller: Caller, job_id: str, reason: str | None) -> Job:
        """Reject a job awaiting approval (a reason is required): it ends Cancelled."""
        caller.principal.require(Permission.WRITE)
        text = check_reason(reason, required=True)
        async with self.runtime.db.uow() as uow:
            job = await self._lock(uow, job_id)
            _require_status(job, JobStatus.AWAITING_APPROVAL, "rejected")
            now = self.runtime.clock.now()
            after = transition(
                job,
                JobStatus.CANCELLED,
                now,
                decision_reason=text,
                last_error=f"rejected by {caller.principal.name}: {text}",
                completed_at=now,
            )
            await uow.jobs.update(after)
            await self._restore_certificate(uow, after, now)
            await self._audit(uow, caller, "job_rejected", after, reason=text)
        return after

    async def cancel(self, caller: Caller, job_id: str, reason: str | None) -> Job:
        """Cancel an open job (Pending, AwaitingCSR, AwaitingApproval or Running)."""
        caller.principal.require(Permission.WRITE)
        text = check_reason(reason, required=False)
        async with self.runtime.db.uow() as uow:
            job = await self._lock(uow, job_id)
            now = self.runtime.clock.now()
            after = transition(
                job,
                JobStatus.CANCELLED,
                now,
                decision_reason=text,
                completed_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
            await uow.jobs.update(after)
            await self._restore_certificate(uow, after, now)
            await self._audit(
                uow, caller, "job_cancelled", after, reason=text, previous=job.status.value
            )
        return after

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

    # --- CSR submission --------------------------------------------------------------------

    async def submit_csr(
        self, caller: Caller, cert_id: str, csr_pem: str, *, ttl_seconds: int | None = None
    ) -> tuple[ManagedCertificate, CertificateVersion]:
        """Issue from a submitted CSR and complete the certificate's open issuing job.

        A profile that requires approval issues only for an approved job.
        """
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            cert = await uow.certificates.require(cert_id)
            job = await uow.jobs.open_issuing(cert_id)
            profile = await certificate_profile(uow, cert)
        if job is not None and job.status is JobStatus.AWAITING_APPROVAL:
            raise Conflict(f"job {job.id!r} awaits approval; submit the CSR once it is approved")
        if job is None and profile.requires_approval:
            raise Conflict(
                "the certificate's profile requires approval: request a renewal "
                "(POST /certificates/{id}/renew) and have it approved first"
            )
        cert, version = await self._issue(caller, cert_id, csr_pem, ttl_seconds)
        if job is not None:
            await self._complete(job.id, caller, version, expect_owner=None)
        return cert, version

    # --- Processor -------------------------------------------------------------------------

    async def process_due(self, *, limit: int = CLAIM_BATCH) -> ProcessSummary:
        """The job processor loop: claim due issuing jobs and run one attempt of each."""
        summary = ProcessSummary()
        started = await self.claim(limit, summary)
        for job in started:
            await self._run_attempt(job, summary)
        return summary

    async def claim(
        self, limit: int = CLAIM_BATCH, summary: ProcessSummary | None = None
    ) -> list[Job]:
        """Lease due jobs and start an attempt of each (Running, attempts + 1), audited.

        A Running job whose lease expired belonged to a worker that stopped: it is reclaimed
        as a new attempt, or Failed once it has used all its attempts.
        """
        summary = summary if summary is not None else ProcessSummary()
        now = self.runtime.clock.now()
        started: list[Job] = []
        async with self.runtime.db.uow() as uow:
            claimed = await uow.jobs.claim_due(
                now=now,
                owner=self.node_id,
                lease_until=now + self.lease,
                limit=limit,
                types=sorted(ISSUING),
            )
            summary.claimed = len(claimed)
            for job in claimed:
                reclaimed = job.status is JobStatus.RUNNING
                if reclaimed and job.attempts >= job.max_attempts:
                    failed = after_failed_attempt(job, "lease expired (worker stopped)", now)
                    await uow.jobs.update(failed)
                    await self._on_failed(uow, failed, now)
                    summary.failed += 1
                    continue
                running = dataclasses.replace(
                    job,
                    status=JobStatus.RUNNING,
                    attempts=job.attempts + 1,
                    started_at=now,
                    updated_at=now,
                    status_changed_at=now,
                    lease_owner=self.node_id,
                    lease_expires_at=now + self.lease,
                )
                await uow.jobs.update(running)
                await self._audit(
                    uow,
                    SYSTEM_CALLER,
                    "job_started",
                    running,
                    attempt=running.attempts,
                    reclaimed=reclaimed,
                )
                started.append(running)
        return started

    async def _run_attempt(self, job: Job, summary: ProcessSummary) -> None:
        try:
            outcome = await self._attempt(job)
        except ConnectorError as exc:
            # A CA's refusal (an invalid authorization, a rejected CSR) is final; a rate limit
            # or an outage is retried, no sooner than the CA's Retry-After.
            await self._attempt_failed(
                job,
                exc.detail,
                summary,
                retryable=not exc.permanent,
                not_before=exc.retry_after,
                problem=exc.problem if isinstance(exc, IssuanceRefused) else None,
            )
            return
        except _RETRYABLE as exc:
            await self._attempt_failed(job, f"{type(exc).__name__}: {exc}", summary, retryable=True)
            return
        except CertctlError as exc:
            # A request the CA will never accept (profile violation, missing issuer):
            # retrying cannot help.
            await self._attempt_failed(job, exc.detail, summary, retryable=False)
            return
        except Exception as exc:
            # Anything else is a bug: the same code fails the same way on every retry, and
            # retries would bury it. The job fails now, visibly, with the traceback logged.
            log.exception("jobs.attempt_crashed", job_id=job.id, error=type(exc).__name__)
            summary.crashed += 1
            error = (
                f"internal error ({type(exc).__name__}: {exc}); the server log has the traceback"
            )
            await self._attempt_failed(job, error, summary, retryable=False)
            return
        if outcome is None:
            summary.awaiting_csr += 1
        else:
            summary.completed += 1

    async def _attempt(self, job: Job) -> CertificateVersion | None:
        """One attempt: resume the job's order, issue with a server-made key, or wait for
        the agent's CSR."""
        async with self.runtime.db.uow() as uow:
            cert = await uow.certificates.require(job.certificate_id)
            issuer = await uow.issuers.get(cert.issuer_id) if cert.issuer_id else None
            profile = await certificate_profile(uow, cert)
        if issuer is None:
            raise InvalidRequest("the certificate has no issuer", field="issuer_id")
        if not issuer.enabled:
            raise InvalidRequest(f"issuer {issuer.id!r} is disabled", field="issuer_id")
        # A config its connector refuses fails the job now, not after an agent's CSR.
        await self.issuance.connectors.for_issuer(issuer)
        resume = dict(job.order_state or {})
        saved = resume.get("csr_pem")
        if isinstance(saved, str):
            csr_pem = saved
        else:
            if self.keygen_mode != "server":
                await self._await_csr(job)
                return None
            key_spec = key_spec_for(profile)
            names = tuple(cert.sans) or (cert.common_name,)
            csr_pem, _key_pem = await asyncio.to_thread(make_csr, cert.common_name, names, key_spec)
        _, version = await self._issue(
            SYSTEM_CALLER,
            cert.id,
            csr_pem,
            None,
            journal=JobJournal(self.runtime, job.id),
            resume=resume,
        )
        await self._complete(job.id, SYSTEM_CALLER, version, expect_owner=self.node_id)
        return version

    async def _issue(
        self,
        caller: Caller,
        cert_id: str,
        csr_pem: str,
        ttl_seconds: int | None,
        *,
        journal: JobJournal | None = None,
        resume: Mapping[str, Any] | None = None,
    ) -> tuple[ManagedCertificate, CertificateVersion]:
        """Issue through the certificate's issuer, counting the result and timing successes."""
        started = time.perf_counter()
        issuer_type = await self._issuer_type(cert_id)
        try:
            issued = await self.issuance.issue_from_csr(
                caller, cert_id, csr_pem, ttl_seconds=ttl_seconds, journal=journal, resume=resume
            )
        except Exception as exc:
            if self.metrics is not None:
                self.metrics.issuance.labels(issuer_type, type(exc).__name__).inc()
            raise
        if self.metrics is not None:
            self.metrics.issuance.labels(issuer_type, "success").inc()
            self.metrics.issuance_duration.labels(issuer_type).observe(
                time.perf_counter() - started
            )
        return issued

    async def _issuer_type(self, cert_id: str) -> str:
        async with self.runtime.db.uow() as uow:
            cert = await uow.certificates.get(cert_id)
            issuer = await uow.issuers.get(cert.issuer_id) if cert and cert.issuer_id else None
        return issuer.type.value if issuer is not None else "none"

    async def _await_csr(self, job: Job) -> None:
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            current = await uow.jobs.lock(job.id)
            if not _still_mine(current, self.node_id):
                return
            assert current is not None
            after = transition(
                current, JobStatus.AWAITING_CSR, now, lease_owner=None, lease_expires_at=None
            )
            await uow.jobs.update(after)
            await self._audit(uow, SYSTEM_CALLER, "job_awaiting_csr", after)

    async def _complete(
        self, job_id: str, caller: Caller, version: CertificateVersion, *, expect_owner: str | None
    ) -> None:
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            current = await uow.jobs.lock(job_id)
            if current is None or not current.is_open:
                return
            if expect_owner is not None and not _still_mine(current, expect_owner):
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
        for target_id in cert.target_ids:
            target = await uow.targets.get(target_id)
            if target is None or not target.enabled:
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
                max_attempts=job.max_attempts,
                retry_interval_seconds=job.retry_interval_seconds,
            )
            await uow.jobs.add(deployment)
            await self._audit(
                uow, caller, "job_created", deployment, trigger=job.id, target_id=target.id
            )

    async def _attempt_failed(
        self,
        job: Job,
        error: str,
        summary: ProcessSummary,
        *,
        retryable: bool,
        not_before: float | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a failed attempt: back to Pending after a backoff, or Failed (at the attempt
        cap, or at once when retrying cannot help)."""
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            current = await uow.jobs.lock(job.id)
            if not _still_mine(current, self.node_id):
                return
            assert current is not None
            if retryable:
                after = after_failed_attempt(current, error, now)
                if not_before is not None and after.status is JobStatus.PENDING:
                    earliest = now + timedelta(seconds=not_before)
                    after = dataclasses.replace(
                        after, scheduled_at=max(after.scheduled_at, earliest)
                    )
            else:
                after = transition(
                    current,
                    JobStatus.FAILED,
                    now,
                    last_error=error[:2000],
                    completed_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            if problem:
                # The CA's own problem document (RFC 8555 section 6.7) stays with the job.
                after = dataclasses.replace(
                    after, order_state={**(after.order_state or {}), "problem": dict(problem)}
                )
            await uow.jobs.update(after)
            if after.status is JobStatus.FAILED:
                await self._on_failed(uow, after, now)
                summary.failed += 1
                return
            await self._audit(
                uow,
                SYSTEM_CALLER,
                "job_retry_scheduled",
                after,
                attempt=after.attempts,
                error=error[:500],
                next_attempt_at=after.scheduled_at.isoformat(),
            )
            summary.retried += 1

    async def _on_failed(self, uow: UnitOfWork, job: Job, now: datetime) -> None:
        """Audit a failed job, mark its certificate Failed and queue the renewal-failure alert."""
        await self._audit(
            uow, SYSTEM_CALLER, "job_failed", job, error=job.last_error, attempts=job.attempts
        )
        cert = await uow.certificates.get(job.certificate_id)
        if cert is None or cert.status in _FINAL:
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

    # --- Timeouts --------------------------------------------------------------------------

    async def expire_waits(self) -> TimeoutSummary:
        """Fail jobs waiting for a CSR over 24 h or for an approval over 168 h."""
        now = self.runtime.clock.now()
        summary = TimeoutSummary()
        async with self.runtime.db.uow() as uow:
            for status in (JobStatus.AWAITING_CSR, JobStatus.AWAITING_APPROVAL):
                for job in await uow.jobs.waiting_since_before(status, now):
                    if not timed_out(job, now):
                        continue
                    after = transition(
                        job,
                        JobStatus.FAILED,
                        now,
                        last_error=timeout_reason(job),
                        completed_at=now,
                    )
                    await uow.jobs.update(after)
                    await self._on_failed(uow, after, now)
                    summary.failed += 1
                    summary.job_ids.append(job.id)
        return summary

    # --- Renewal scan ----------------------------------------------------------------------

    async def scan_renewals(self) -> RenewalScanSummary:
        """Queue a Renewal job for each auto-renewed certificate inside its renewal window."""
        now = self.runtime.clock.now()
        summary = RenewalScanSummary()
        async with self.runtime.db.uow() as uow:
            policies = await all_policies(uow)
            horizon = max(
                [DEFAULT_WINDOW_DAYS, *(p.renewal_window_days for p in policies.values())]
            )
            rows = await uow.certificates.renewal_candidates(
                until=now + timedelta(days=horizon), statuses=_RENEWABLE
            )
        due = [
            cert_id
            for cert_id, policy_id, expires_at in rows
            if _due(policies, policy_id, expires_at, now)
        ]
        summary.candidates = len(rows)
        summary.not_due = len(rows) - len(due)
        for start in range(0, len(due), SCAN_CHUNK):
            chunk = due[start : start + SCAN_CHUNK]
            async with self.runtime.db.uow() as uow:
                latest = await uow.jobs.latest_issuing_status(chunk)
                for cert_id in chunk:
                    status = latest.get(cert_id)
                    if status in OPEN:
                        summary.already_open += 1
                        continue
                    if status is JobStatus.CANCELLED:
                        # A person rejected or cancelled the last renewal: the scan does not
                        # ask again every hour; a manual renew starts over.
                        summary.declined += 1
                        continue
                    cert = await uow.certificates.require(cert_id)
                    job = await self._open_job(uow, SYSTEM_CALLER, cert, trigger="renewal_scan")
                    if job is None:
                        summary.already_open += 1
                    elif job.status is JobStatus.AWAITING_APPROVAL:
                        summary.awaiting_approval += 1
                        summary.created += 1
                    else:
                        summary.created += 1
        return summary

    # --- Bulk ------------------------------------------------------------------------------

    async def bulk_renew(self, caller: Caller, criteria: BulkCriteria) -> BulkResult:
        """Queue a renewal for every matched certificate that has none open."""
        caller.principal.require(Permission.WRITE)
        ids, total = await resolve_criteria(self.runtime, criteria)
        enqueued = skipped = 0
        errors: list[tuple[str, str]] = []
        for cert_id in ids:
            try:
                async with self.runtime.db.uow() as uow:
                    cert = await uow.certificates.get(cert_id)
                    if cert is None:
                        raise NotFound("certificate", cert_id)
                    _check_renewable(cert)
                    job = await self._open_job(uow, caller, cert, trigger="bulk")
                if job is None:
                    skipped += 1
                else:
                    enqueued += 1
            except Conflict:
                skipped += 1
            except CertctlError as exc:
                errors.append((cert_id, exc.detail))
        return BulkResult(
            total_matched=total,
            total_enqueued=enqueued,
            total_skipped=skipped,
            total_failed=len(errors),
            errors=tuple(errors),
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


async def resolve_criteria(runtime: Runtime, criteria: BulkCriteria) -> tuple[list[str], int]:
    """The certificate ids a bulk operation covers (at most BULK_LIMIT) and how many matched."""
    if not criteria.certificate_ids and criteria.filters is None:
        raise InvalidRequest(
            "give certificate_ids or at least one criterion (status, environment, owner_id, "
            "team_id, issuer_id, q)",
            field="certificate_ids",
        )
    if criteria.filters is None:
        ids = list(dict.fromkeys(criteria.certificate_ids))
        return ids, len(ids)
    async with runtime.db.uow() as uow:
        ids, total = await uow.certificates.matching_ids(criteria.filters, limit=BULK_LIMIT + 1)
    if total > BULK_LIMIT:
        raise InvalidRequest(
            f"{total} certificates match; a bulk operation covers at most {BULK_LIMIT}: "
            "narrow the criteria",
            field="criteria",
        )
    if criteria.certificate_ids:
        wanted = set(criteria.certificate_ids)
        ids = [i for i in ids if i in wanted]
        total = len(ids)
    return ids, total


def key_spec_for(profile: CertificateProfile) -> str:
    """The key a server-side keygen makes: the profile's first allowed algorithm, smallest size."""
    for rule in profile.allowed_key_algorithms:
        if rule.algorithm == "ECDSA":
            return "ECDSA-P256" if rule.min_size <= 256 else "ECDSA-P384"
        if rule.algorithm == "RSA":
            size = max(2048, rule.min_size)
            return f"RSA-{3072 if 2048 < size <= 3072 else 4096 if size > 3072 else 2048}"
        if rule.algorithm == "Ed25519":
            return "Ed25519"
    return "ECDSA-P256"


def _due(
    policies: Mapping[str, RenewalPolicy],
    policy_id: str | None,
    expires_at: datetime,
    now: datetime,
) -> bool:
    policy = policies.get(policy_id or "")
    if policy is not None and not policy.auto_renew:
        return False
    window = policy.renewal_window_days if policy else DEFAULT_WINDOW_DAYS
    return days_left(expires_at, now) <= window


def _check_renewable(cert: ManagedCertificate) -> None:
    if cert.status in _FINAL:
        raise Conflict(f"certificate is {cert.status.value}; it cannot be renewed")
    if not cert.issuer_id:
        raise InvalidRequest("the certificate has no issuer to renew it with", field="issuer_id")


def _require_status(job: Job, wanted: JobStatus, verb: str) -> None:
    if job.status is not wanted:
        raise Conflict(f"job is {job.status.value}; only a job {wanted.value} can be {verb}")


def _still_mine(job: Job | None, owner: str) -> bool:
    """Tell whether this worker still holds the job's lease (not cancelled, not reclaimed)."""
    return job is not None and job.status is JobStatus.RUNNING and job.lease_owner == owner
