"""Issuance and renewal jobs: reading, requests, approvals, CSR submission and timeouts.

The processor, the renewal scan and bulk operations live in their own modules
(job_processor, renewal_scan, bulk); JobService composes them. Every move of a job is
audited in the transaction that makes it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from certctl.domain.access import Caller, Permission
from certctl.domain.certificates import CertificateVersion, ManagedCertificate
from certctl.domain.inventory import IssuerType
from certctl.domain.jobs import (
    Job,
    JobFilter,
    JobStatus,
    check_decider,
    check_reason,
    require_status,
    timed_out,
    timeout_reason,
    transition,
)
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.domain.renewal import check_renewable
from certctl.errors import Conflict, NotFound
from certctl.services.bulk import BulkOperations
from certctl.services.deployments import Deployments
from certctl.services.issuance import IssuanceInputs, default_profile
from certctl.services.job_processor import JobProcessor
from certctl.services.renewal_scan import RenewalScan

# Issuers that sign within the CSR request (in a worker thread, in milliseconds); every other
# CA's order runs in the job processor.
_ISSUED_IN_REQUEST = frozenset({IssuerType.GENERIC_CA})


@dataclass
class TimeoutSummary:
    """Jobs failed for waiting too long."""

    failed: int = 0
    job_ids: list[str] = field(default_factory=list)


class JobService(JobProcessor, RenewalScan, BulkOperations, Deployments):
    """Use cases of jobs."""

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
            check_renewable(cert)
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

    # --- Decisions -------------------------------------------------------------------------

    async def approve(self, caller: Caller, job_id: str, reason: str | None) -> Job:
        """Approve a job awaiting approval; neither its requester nor the owner may."""
        caller.principal.require(Permission.WRITE)
        text = check_reason(reason, required=False)
        async with self.runtime.db.uow() as uow:
            job = await self._lock(uow, job_id)
            require_status(job, JobStatus.AWAITING_APPROVAL, "approved")
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
            require_status(job, JobStatus.AWAITING_APPROVAL, "rejected")
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

    # --- CSR submission --------------------------------------------------------------------

    async def submit_csr(
        self, caller: Caller, cert_id: str, csr_pem: str, *, ttl_seconds: int | None = None
    ) -> tuple[ManagedCertificate, CertificateVersion] | Job:
        """Issue from a submitted CSR and complete the certificate's open issuing job.

        A profile that requires approval issues only for an approved job. A remote CA's order
        is left to the job processor: the CSR is checked, stored on the job, and the job
        returned (its retries, backoff and lease then apply); the local CA signs at once.
        """
        caller.principal.require(Permission.WRITE)
        # One read outside any transaction: whatever changes before the write is checked
        # again there (the certificate by the version writer, the job when it completes).
        async with self.runtime.db.read() as reads:
            found = await reads.csr_inputs(cert_id)
        if found is None:
            raise NotFound("certificate", cert_id)
        job, issuer = found.job, found.issuer
        profile = default_profile(found.cert) if found.profile is None else found.profile
        local = issuer is None or IssuerType(issuer.type) in _ISSUED_IN_REQUEST
        # The local CA signs in this request: what it needs was read with the certificate.
        inputs = (
            IssuanceInputs(found.cert, issuer, profile, None, stored_ca=found.stored_ca)
            if local
            else None
        )
        if job is not None and job.status is JobStatus.AWAITING_APPROVAL:
            raise Conflict(f"job {job.id!r} awaits approval; submit the CSR once it is approved")
        if job is None and profile.requires_approval:
            raise Conflict(
                "the certificate's profile requires approval: request a renewal "
                "(POST /certificates/{id}/renew) and have it approved first"
            )
        if inputs is None:
            return await self._queue_csr(caller, cert_id, csr_pem, ttl_seconds)
        cert, version = await self._issue(caller, cert_id, csr_pem, ttl_seconds, inputs=inputs)
        if job is not None:
            await self._complete(job.id, caller, version, expect_owner=None)
        return cert, version

    async def _queue_csr(
        self, caller: Caller, cert_id: str, csr_pem: str, ttl_seconds: int | None
    ) -> Job:
        """Check the CSR now, store it on the open issuing job (opened if none) and make the
        job runnable; the processor then runs the CA's order."""
        await self.issuance.prepare(caller, cert_id, csr_pem, ttl_seconds=ttl_seconds)
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            opened = await uow.jobs.open_issuing(cert_id)
            if opened is None:
                cert = await uow.certificates.require(cert_id)
                opened = await self._open_job(uow, caller, cert, trigger="csr")
                if opened is None:  # lost a race with another request or the scan
                    raise Conflict("certificate already has an open issuance or renewal job")
            job = await self._lock(uow, opened.id)
            if job.status not in (JobStatus.PENDING, JobStatus.AWAITING_CSR) or (
                job.order_state or {}
            ).get("csr_pem"):
                raise Conflict(
                    f"job {job.id!r} is {job.status.value} and already has its CSR; "
                    "wait for it to finish or cancel it"
                )
            state = {**(job.order_state or {}), "csr_pem": csr_pem}
            after = (
                transition(job, JobStatus.PENDING, now, scheduled_at=now, order_state=state)
                if job.status is JobStatus.AWAITING_CSR
                else dataclasses.replace(job, scheduled_at=now, updated_at=now, order_state=state)
            )
            await uow.jobs.update(after)
            await self._audit(uow, caller, "job_csr_received", after)
        return after

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
