"""Agents: lookup by credential hash and by name, and the agents whose heartbeats stopped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import AgentRow
from certctl.db.repositories.base import Repository
from certctl.db.repositories.inventory import AGENT
from certctl.domain.inventory import Agent, AgentStatus


class AgentRepository(Repository[Agent]):
    """Agent rows."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, AgentRow, AGENT, "agent", ("name", "hostname"))

    async def by_credential_hash(self, credential_hash: str) -> Agent | None:
        """The agent holding the credential with this hash (retired ones included)."""
        stmt = select(AgentRow).where(AgentRow.credential_hash == credential_hash)
        row = await self.session.scalar(stmt)
        return None if row is None else self.decode(row)

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
