"""The job processor: claim due issuing jobs with a lease and run one attempt of each.

A job is claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL); a worker that dies
leaves its lease to expire and another replica reclaims the job.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from certctl.connectors.issuers.base import IssuanceRefused
from certctl.db.engine import DATABASE_UNAVAILABLE
from certctl.domain.access import SYSTEM_CALLER, Caller
from certctl.domain.agents import owning_agent
from certctl.domain.certificates import CertificateVersion, ManagedCertificate
from certctl.domain.inventory import IssuerType
from certctl.domain.jobs import (
    ISSUING,
    Job,
    JobStatus,
    after_failed_attempt,
    still_mine,
    transition,
)
from certctl.domain.renewal import key_spec_for
from certctl.errors import (
    CertctlError,
    ConnectorError,
    InvalidRequest,
    UpstreamError,
)
from certctl.pki.csr import make_csr
from certctl.services.issuance import IssuanceInputs, certificate_profile
from certctl.services.job_transitions import JobTransitions
from certctl.services.runtime import Runtime

log = structlog.get_logger("certctl.jobs")

CLAIM_BATCH = 20


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


class JobJournal:
    """The OrderJournal of one job: a long-running order's progress stored on the job row."""

    def __init__(self, runtime: Runtime, job_id: str) -> None:
        self.runtime = runtime
        self.job_id = job_id

    async def save(self, state: Mapping[str, Any]) -> None:
        """Record where the order stands, committed at once (a crash keeps it)."""
        async with self.runtime.db.uow() as uow:
            await uow.jobs.set_order_state(self.job_id, state)


class JobProcessor(JobTransitions):
    """The processor loop's side of the job service."""

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
        inputs: IssuanceInputs | None = None,
    ) -> tuple[ManagedCertificate, CertificateVersion]:
        """Issue through the certificate's issuer, counting the result and timing successes
        (a caller that has read the issuance's inputs passes them: two transactions less)."""
        started = time.perf_counter()
        if inputs is not None:
            issuer = inputs.issuer
            issuer_type = IssuerType(issuer.type).value if issuer is not None else "none"
        else:
            issuer_type = await self._issuer_type(cert_id)
        try:
            issued = await self.issuance.issue_from_csr(
                caller,
                cert_id,
                csr_pem,
                ttl_seconds=ttl_seconds,
                journal=journal,
                resume=resume,
                inputs=inputs,
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
            if not still_mine(current, self.node_id):
                return
            assert current is not None
            # The agent of the certificate's first enabled target makes the key (C7); with
            # none, the job waits for a person to submit the CSR.
            cert = await uow.certificates.require(current.certificate_id)
            targets = [t for t in [await uow.targets.get(i) for i in cert.target_ids] if t]
            after = transition(
                current,
                JobStatus.AWAITING_CSR,
                now,
                lease_owner=None,
                lease_expires_at=None,
                agent_id=owning_agent(targets),
            )
            await uow.jobs.update(after)
            await self._audit(
                uow, SYSTEM_CALLER, "job_awaiting_csr", after, agent_id=after.agent_id
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
            if not still_mine(current, self.node_id):
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
