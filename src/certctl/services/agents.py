"""Agents as the control plane sees them: listing, reading, retirement, liveness (C7)."""

from __future__ import annotations

import dataclasses

from certctl.domain.access import SYSTEM_CALLER, Caller, Permission
from certctl.domain.agents import HEARTBEAT_INTERVAL, MISSED_HEARTBEATS
from certctl.domain.inventory import Agent, AgentStatus
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.errors import Conflict, InvalidRequest
from certctl.services.audit import record
from certctl.services.runtime import Runtime

RESOURCE = "agent"


class AgentService:
    """Use cases of agents that need no agent process: list, get, retire."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def search(
        self,
        caller: Caller,
        *,
        request: PageRequest,
        sort: SortKey,
        status: AgentStatus | None = None,
        q: str | None = None,
        include_retired: bool = False,
    ) -> Page[Agent]:
        """One page of agents (retired ones only when asked)."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            repo = uow.agents
            where = [] if include_retired else [repo.column("retired_at").is_(None)]
            equals = {"status": status.value} if status else None
            return await repo.page(request=request, sort=sort, equals=equals, q=q, where=where)

    async def get(self, caller: Caller, agent_id: str) -> Agent:
        """One agent."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await uow.agents.require(agent_id)

    async def register(self, caller: Caller, agent: Agent) -> Agent:
        """Pre-register an agent record (admin): the demo and imports use this."""
        caller.principal.require(Permission.ADMIN)
        async with self.runtime.db.uow() as uow:
            await uow.agents.add(agent)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="agent_registered",
                resource_type=RESOURCE,
                resource_id=agent.id,
                details={"name": agent.name, "hostname": agent.hostname},
            )
        return agent

    async def retire(self, caller: Caller, agent_id: str, reason: str) -> Agent:
        """Soft-retire an agent: kept for history, its credential no longer accepted."""
        caller.principal.require(Permission.WRITE)
        text = reason.strip()
        if not text:
            raise InvalidRequest("a reason is required", field="reason")
        async with self.runtime.db.uow() as uow:
            before = await uow.agents.require(agent_id)
            if before.retired_at is not None:
                raise Conflict(f"agent {agent_id!r} is already retired")
            now = self.runtime.clock.now()
            after = dataclasses.replace(
                before,
                retired_at=now,
                retired_reason=text,
                status=AgentStatus.OFFLINE,
                updated_at=now,
            )
            await uow.agents.update(after)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="agent_retired",
                resource_type=RESOURCE,
                resource_id=agent_id,
                details={"reason": text, "previous_status": before.status.value},
            )
        return after

    async def mark_silent_offline(self) -> list[str]:
        """Mark Offline every agent that missed three heartbeats in a row; their ids."""
        now = self.runtime.clock.now()
        cutoff = now - HEARTBEAT_INTERVAL * MISSED_HEARTBEATS
        async with self.runtime.db.uow() as uow:
            silent = await uow.agents.silent_since(cutoff)
            for agent in silent:
                await uow.agents.update(
                    dataclasses.replace(agent, status=AgentStatus.OFFLINE, updated_at=now)
                )
                await record(
                    uow,
                    self.runtime,
                    caller=SYSTEM_CALLER,
                    action="agent_offline",
                    resource_type=RESOURCE,
                    resource_id=agent.id,
                    details={
                        "name": agent.name,
                        "last_heartbeat_at": agent.last_heartbeat_at.isoformat()
                        if agent.last_heartbeat_at
                        else None,
                    },
                )
        return [a.id for a in silent]
