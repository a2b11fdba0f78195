"""The renewal scan: queue a Renewal job for each auto-renewed certificate inside its window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.jobs import OPEN, JobStatus
from certctl.domain.renewal import DEFAULT_WINDOW_DAYS, RENEWABLE, renewal_due
from certctl.services.alerts import all_policies
from certctl.services.job_transitions import JobTransitions

SCAN_CHUNK = 200


@dataclass
class RenewalScanSummary:
    """What one renewal scan did."""

    candidates: int = 0
    created: int = 0
    already_open: int = 0
    awaiting_approval: int = 0
    not_due: int = 0
    declined: int = 0


class RenewalScan(JobTransitions):
    """The renewal scan's side of the job service."""

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
                until=now + timedelta(days=horizon), statuses=RENEWABLE
            )
        due = [
            cert_id
            for cert_id, policy_id, expires_at in rows
            if renewal_due(policies, policy_id, expires_at, now)
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
