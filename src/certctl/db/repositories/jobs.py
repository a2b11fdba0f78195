"""Jobs: conflict-aware inserts, leased claims, waits past their deadline, listing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import JobRow
from certctl.db.repositories.base import Codec, Repository, constant_in
from certctl.domain.jobs import ISSUING, OPEN, Job, JobFilter, JobStatus, JobType
from certctl.domain.listing import Page, PageRequest, SortKey

JOB = Codec(Job, {"type": JobType, "status": JobStatus})
_OPEN = [s.value for s in OPEN]
_ISSUING = [t.value for t in ISSUING]


def open_issuing_filter(jobs: Any) -> list[ColumnElement[bool]]:
    """The conditions of an open issuance or renewal job on `jobs` (the table or an alias)."""
    return [constant_in(jobs.c.status, _OPEN), constant_in(jobs.c.type, _ISSUING)]


# Built once: every CSR submission asks it, and building it cost more than running it.
_OPEN_ISSUING = select(JobRow).where(
    JobRow.certificate_id == bindparam("certificate_id"),
    *open_issuing_filter(JobRow.__table__),
)


class JobRepository(Repository[Job]):
    """Job rows."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, JobRow, JOB, "job", ("id", "certificate_id"))

    async def add_unless_open(self, job: Job) -> bool:
        """Insert an issuing job unless its certificate already has an open one (index-enforced)."""
        try:
            async with self.session.begin_nested():
                self.session.add(JobRow(**self.codec.to_columns(job)))
        except IntegrityError:
            return False
        return True

    async def open_issuing(self, certificate_id: str) -> Job | None:
        """The certificate's open issuance or renewal job, if any."""
        row = (
            await self.session.scalars(_OPEN_ISSUING, {"certificate_id": certificate_id})
        ).first()
        return None if row is None else self.decode(row)

    async def latest_issuing_status(self, certificate_ids: Sequence[str]) -> dict[str, JobStatus]:
        """The status of each certificate's most recent issuance or renewal job."""
        latest: dict[str, JobStatus] = {}
        for start in range(0, len(certificate_ids), 500):
            chunk = list(certificate_ids[start : start + 500])
            stmt = (
                select(JobRow.certificate_id, JobRow.status)
                .where(JobRow.certificate_id.in_(chunk), JobRow.type.in_(_ISSUING))
                .order_by(JobRow.created_at, JobRow.id)
            )
            for cert_id, status in (await self.session.execute(stmt)).all():
                latest[cert_id] = JobStatus(status)
        return latest

    async def claim_due(
        self,
        *,
        now: datetime,
        owner: str,
        lease_until: datetime,
        limit: int,
        types: Sequence[JobType],
    ) -> list[Job]:
        """Lease due Pending jobs and Running jobs whose lease has expired (crashed worker).

        Rows are locked with SKIP LOCKED on PostgreSQL, so replicas never claim the same job.
        The caller gets the rows as they were before the claim; it moves them itself.
        """
        due = or_(
            and_(JobRow.status == JobStatus.PENDING.value, JobRow.scheduled_at <= now),
            and_(JobRow.status == JobStatus.RUNNING.value, JobRow.lease_expires_at < now),
        )
        stmt = (
            select(JobRow)
            .where(due, JobRow.type.in_([t.value for t in types]))
            .order_by(JobRow.scheduled_at, JobRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = (await self.session.scalars(stmt)).all()
        if rows:
            await self.session.execute(
                update(JobRow)
                .where(JobRow.id.in_([r.id for r in rows]))
                .values(lease_owner=owner, lease_expires_at=lease_until)
            )
        return [self.decode(r) for r in rows]

    async def waiting_since_before(self, status: JobStatus, before: datetime) -> list[Job]:
        """Jobs in a waiting status entered before `before` (locked on PostgreSQL)."""
        stmt = (
            select(JobRow)
            .where(JobRow.status == status.value, JobRow.status_changed_at < before)
            .order_by(JobRow.status_changed_at, JobRow.id)
            .limit(1000)
            .with_for_update(skip_locked=True)
        )
        return [self.decode(r) for r in (await self.session.scalars(stmt)).all()]

    async def lock(self, job_id: str) -> Job | None:
        """Read a job with a row lock (PostgreSQL) so a decision and a claim never interleave."""
        stmt = select(JobRow).where(JobRow.id == job_id).with_for_update()
        row = (await self.session.scalars(stmt)).first()
        return None if row is None else self.decode(row)

    async def set_order_state(self, job_id: str, state: Mapping[str, Any]) -> None:
        """Record where the job's order stands (written alone: the job row is leased)."""
        await self.session.execute(
            update(JobRow).where(JobRow.id == job_id).values(order_state=dict(state))
        )

    async def search(self, *, request: PageRequest, filters: JobFilter, sort: SortKey) -> Page[Job]:
        """One page of jobs."""
        equals = {
            k: v.value if hasattr(v, "value") else v
            for k, v in vars(filters).items()
            if v is not None
        }
        return await self.page(request=request, sort=sort, equals=equals)

    async def count_status(self, status: JobStatus) -> int:
        """Number of jobs in one status."""
        stmt = select(func.count()).select_from(JobRow).where(JobRow.status == status.value)
        return int(await self.session.scalar(stmt) or 0)

    async def claim_for_agent(
        self, *, agent_id: str, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[Job]:
        """Lease an agent's work: AwaitingCSR jobs and due deployments not leased to anyone.

        A Running deployment whose lease expired (the agent restarted mid-job) is handed out
        again. Rows come back as they were before the claim; the caller moves them.
        """
        free = or_(JobRow.lease_expires_at.is_(None), JobRow.lease_expires_at < now)
        deployment = JobRow.type == JobType.DEPLOYMENT.value
        due = or_(
            and_(JobRow.status == JobStatus.AWAITING_CSR.value, free),
            and_(
                deployment,
                JobRow.status == JobStatus.PENDING.value,
                JobRow.scheduled_at <= now,
            ),
            and_(
                deployment, JobRow.status == JobStatus.RUNNING.value, JobRow.lease_expires_at < now
            ),
        )
        stmt = (
            select(JobRow)
            .where(JobRow.agent_id == agent_id, due)
            .order_by(JobRow.scheduled_at, JobRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = (await self.session.scalars(stmt)).all()
        if rows:
            await self.session.execute(
                update(JobRow)
                .where(JobRow.id.in_([r.id for r in rows]))
                .values(lease_owner=owner, lease_expires_at=lease_until)
            )
        return [self.decode(r) for r in rows]

    async def running_on_agents(self) -> list[Job]:
        """Running jobs held by an agent (locked on PostgreSQL)."""
        stmt = (
            select(JobRow)
            .where(JobRow.status == JobStatus.RUNNING.value, JobRow.agent_id.is_not(None))
            .order_by(JobRow.id)
            .limit(1000)
            .with_for_update(skip_locked=True)
        )
        return [self.decode(r) for r in (await self.session.scalars(stmt)).all()]

    async def for_agent_and_certificate(self, agent_id: str, certificate_id: str) -> bool:
        """Tell whether the agent holds or held a job of this certificate."""
        stmt = (
            select(func.count())
            .select_from(JobRow)
            .where(JobRow.agent_id == agent_id, JobRow.certificate_id == certificate_id)
        )
        return bool(await self.session.scalar(stmt))

    async def open_deployment(self, certificate_id: str, target_id: str) -> Job | None:
        """The open Deployment job of this certificate to this target, if any."""
        stmt = select(JobRow).where(
            JobRow.certificate_id == certificate_id,
            JobRow.target_id == target_id,
            JobRow.type == JobType.DEPLOYMENT.value,
            JobRow.status.in_(_OPEN),
        )
        row = (await self.session.scalars(stmt)).first()
        return None if row is None else self.decode(row)
