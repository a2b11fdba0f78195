"""Agents: lookup by credential hash and by name, the heartbeat and poll of the agent protocol
in one statement each (C13), and the agents whose heartbeats stopped."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import AgentRow, JobRow
from certctl.db.repositories.base import Repository
from certctl.db.repositories.inventory import AGENT
from certctl.domain.agents import HeartbeatFacts
from certctl.domain.inventory import Agent, AgentStatus
from certctl.domain.jobs import JobStatus

AGENTS = cast(Table, AgentRow.__table__)
# The statuses claim_for_agent may hand out; ix_jobs_agent_id_status answers the probe.
_WORK_STATUSES = (JobStatus.AWAITING_CSR.value, JobStatus.PENDING.value, JobStatus.RUNNING.value)


class AgentRepository(Repository[Agent]):
    """Agent rows."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, AgentRow, AGENT, "agent", ("name", "hostname"))

    async def by_credential_hash(self, credential_hash: str) -> Agent | None:
        """The agent holding the credential with this hash (retired ones included)."""
        stmt = select(AgentRow).where(AgentRow.credential_hash == credential_hash)
        row = await self.session.scalar(stmt)
        return None if row is None else self.decode(row)

    async def heartbeat(
        self, *, agent_id: str, credential_hash: str, facts: HeartbeatFacts, now: datetime
    ) -> Agent | None:
        """Mark the live agent `agent_id` holding this credential Online, with its host facts.

        Authentication and the write are one UPDATE … RETURNING (C13: a heartbeat costs one
        statement); None when no agent matched (unknown credential, another agent's, retired).
        """
        stmt = (
            update(AGENTS)
            .where(
                AGENTS.c.id == agent_id,
                AGENTS.c.credential_hash == credential_hash,
                AGENTS.c.retired_at.is_(None),
            )
            .values(
                version=facts.version,
                hostname=facts.hostname,
                os=facts.os,
                arch=facts.arch,
                addresses=list(facts.addresses),
                ip_address=facts.addresses[0] if facts.addresses else "",
                status=AgentStatus.ONLINE.value,
                last_heartbeat_at=now,
                updated_at=now,
            )
            .returning(*AGENTS.c)
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else self.decode(row)

    async def with_work_flag(self, credential_hash: str) -> tuple[Agent, bool] | None:
        """The agent holding this credential and whether any job may be due for it.

        One statement: the poll of an agent with nothing to do (the common case) ends here.
        """
        due = exists().where(JobRow.agent_id == AGENTS.c.id, JobRow.status.in_(_WORK_STATUSES))
        stmt = select(*AGENTS.c, due.label("has_work")).where(
            AGENTS.c.credential_hash == credential_hash
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (self.decode(row), bool(row.has_work))

    async def active_by_name(self, name: str) -> Agent | None:
        """The agent not retired that carries this name, locked for a re-registration."""
        stmt = (
            select(AgentRow)
            .where(AgentRow.name == name, AgentRow.retired_at.is_(None))
            .order_by(AgentRow.created_at)
            .with_for_update()
        )
        row = (await self.session.scalars(stmt)).first()
        return None if row is None else self.decode(row)

    async def silent_since(self, before: datetime) -> list[Agent]:
        """Agents not retired and not Offline whose last heartbeat is older than `before`."""
        stmt = select(AgentRow).where(
            AgentRow.retired_at.is_(None),
            AgentRow.status != AgentStatus.OFFLINE.value,
            or_(AgentRow.last_heartbeat_at.is_(None), AgentRow.last_heartbeat_at < before),
        )
        return [self.decode(r) for r in (await self.session.scalars(stmt)).all()]

    async def count_active_by_status(self) -> dict[str, int]:
        """Agents not retired, counted per status."""
        stmt = (
            select(AgentRow.status, func.count())
            .where(AgentRow.retired_at.is_(None))
            .group_by(AgentRow.status)
        )
        return {str(s): int(n) for s, n in (await self.session.execute(stmt)).all()}
