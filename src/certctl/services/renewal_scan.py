"""The renewal scan: queue a Renewal job for each auto-renewed certificate inside its window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.jobs import OPEN, JobStatus
from certctl.domain.renewal import DEFAULT_WINDOW_DAYS, RENEWABLE, renewal_due
from certctl.domain.renewal_info import renewal_due as ari_renewal_due
from certctl.services.alerts import all_policies
from certctl.services.job_transitions import JobTransitions

log = structlog.get_logger("certctl.jobs")

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
    ari_checked: int = 0
    ari_failed: int = 0
    ari_due: int = 0


class RenewalScan(JobTransitions):
    """The renewal scan's side of the job service."""

    async def scan_renewals(self, *, lookahead: timedelta = timedelta(0)) -> RenewalScanSummary:
        """Queue a Renewal job for each auto-renewed certificate inside its renewal window.

        An ACME CA's suggested window (RFC 9773) replaces the policy's window for the
        certificates it answered for; the job is queued for the moment chosen in it when that
        moment comes before the next scan (`lookahead`).
        """
        now = self.runtime.clock.now()
        summary = RenewalScanSummary()
        await self._refresh_renewal_info(summary)
        async with self.runtime.db.uow() as uow:
            policies = await all_policies(uow)
            horizon = max(
                [DEFAULT_WINDOW_DAYS, *(p.renewal_window_days for p in policies.values())]
            )
            rows = await uow.certificates.renewal_candidates(
                until=now + timedelta(days=horizon), statuses=RENEWABLE
            )
            windows = await uow.renewal_info.for_certificates([row[0] for row in rows])
            ari_rows = await uow.renewal_info.due(until=now + lookahead, statuses=RENEWABLE)
        # When each due certificate's job may run: now, or the moment chosen in its window.
        due: dict[str, datetime] = {}
        for cert_id, policy_id, expires_at in rows:
            ari = windows.get(cert_id)
            policy_due = renewal_due(policies, policy_id, expires_at, now)
            if ari_renewal_due(policy_due=policy_due, ari=ari, now=now, lookahead=lookahead):
                usable = ari is not None and ari.usable
                due[cert_id] = ari.renew_at if usable and ari and ari.renew_at else now
        for cert_id, policy_id, renew_at in ari_rows:
            policy = policies.get(policy_id or "")
            if policy is None or policy.auto_renew:
                due.setdefault(cert_id, renew_at)
        summary.ari_due = len({row[0] for row in ari_rows} & set(due))
        summary.candidates = len(set(due) | {row[0] for row in rows})
        summary.not_due = summary.candidates - len(due)
        await self._open_due(due, summary)
        return summary

    async def _open_due(self, due: dict[str, datetime], summary: RenewalScanSummary) -> None:
        """Open a job for each due certificate unless one is open or a person declined one."""
        ids = list(due)
        for start in range(0, len(ids), SCAN_CHUNK):
            chunk = ids[start : start + SCAN_CHUNK]
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
                    job = await self._open_job(
                        uow, SYSTEM_CALLER, cert, trigger="renewal_scan", scheduled_at=due[cert_id]
                    )
                    if job is None:
                        summary.already_open += 1
                    elif job.status is JobStatus.AWAITING_APPROVAL:
                        summary.awaiting_approval += 1
                        summary.created += 1
                    else:
                        summary.created += 1

    async def _refresh_renewal_info(self, summary: RenewalScanSummary) -> None:
        """Ask ACME CAs for their renewal windows; a failure here never stops renewals."""
        try:
            checks = await self.renewal_info.refresh(RENEWABLE)
        except Exception:
            log.exception("ari.refresh_failed")
            return
        summary.ari_checked, summary.ari_failed = checks.checked, checks.failed
