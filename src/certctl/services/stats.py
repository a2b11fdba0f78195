"""Dashboard summary figures and probes of the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from certctl.domain.access import Caller, Permission
from certctl.domain.certificates import CertificateStatus
from certctl.domain.inventory import AgentStatus
from certctl.domain.jobs import JobStatus
from certctl.domain.notifications import NotificationStatus
from certctl.services.runtime import Runtime


@dataclass(frozen=True)
class Summary:
    """Counts shown on the dashboard and by `certctl status`."""

    total_certificates: int
    certificates_by_status: dict[str, int]
    expiring_in_30_days: int
    agents_total: int
    agents_online: int
    jobs_by_status: dict[str, int] = field(default_factory=dict)
    notifications_dead: int = 0


class StatsService:
    """Read-only aggregates."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def summary(self, caller: Caller) -> Summary:
        """Certificates by status, expiring within 30 days, agents, jobs, dead notifications."""
        caller.principal.require(Permission.READ)
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            counts = await uow.certificates.count_by_status()
            expiring = await uow.certificates.count_expiring(
                now=now, until=now + timedelta(days=30)
            )
            agents = await uow.agents.count_by("status")
            dead = await uow.notifications.count_status(NotificationStatus.DEAD)
            jobs = await uow.jobs.count_by("status")
        by_status = {s.value: counts.get(s.value, 0) for s in CertificateStatus}
        return Summary(
            total_certificates=sum(by_status.values()),
            certificates_by_status=by_status,
            expiring_in_30_days=expiring,
            agents_total=sum(agents.values()),
            agents_online=agents.get(AgentStatus.ONLINE.value, 0),
            jobs_by_status={s.value: jobs.get(s.value, 0) for s in JobStatus},
            notifications_dead=dead,
        )

    async def certificates_by_status(self) -> dict[str, int]:
        """Counts per status for the metrics endpoint (no caller: scraped)."""
        async with self.runtime.db.uow() as uow:
            counts = await uow.certificates.count_by_status()
        return {s.value: counts.get(s.value, 0) for s in CertificateStatus}

    async def fold_status_counts(self) -> int:
        """Fold the per-status delta rows that certificate writes appended (scheduler loop);
        the number of rows folded away."""
        async with self.runtime.db.uow() as uow:
            return await uow.certificates.fold_status_counts()

    async def jobs_by_status(self) -> dict[str, int]:
        """Job counts per status for the metrics endpoint (no caller: scraped)."""
        async with self.runtime.db.uow() as uow:
            counts = await uow.jobs.count_by("status")
        return {s.value: counts.get(s.value, 0) for s in JobStatus}

    async def agents_by_status(self) -> dict[str, int]:
        """Agents not retired per status, for the metrics endpoint (no caller: scraped)."""
        async with self.runtime.db.uow() as uow:
            counts = await uow.agents.count_active_by_status()
        return {s.value: counts.get(s.value, 0) for s in AgentStatus}

    async def ready(self) -> tuple[bool, str]:
        """Whether the database answers and is migrated to head, with the reason if not."""
        try:
            async with self.runtime.db.uow() as uow:
                await uow.ping()
            current = await self.runtime.db.is_current()
        except Exception as exc:
            return False, f"database unreachable: {type(exc).__name__}"
        return (True, "ok") if current else (False, "database schema is not migrated to head")
