"""Writing and reading the audit trail; rows are written inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller, Permission
from certctl.domain.audit import AuditEvent, AuditFilter, AuditStatus, redact
from certctl.domain.ids import new_id
from certctl.domain.listing import Page, PageRequest
from certctl.services.runtime import Runtime


def audit_event(
    runtime: Runtime,
    *,
    caller: Caller,
    action: str,
    resource_type: str,
    resource_id: str,
    details: Mapping[str, Any] | None = None,
    status: AuditStatus = AuditStatus.SUCCESS,
) -> AuditEvent:
    """Build one audit event (details redacted), to be written with others in one go."""
    now = runtime.clock.now()
    return AuditEvent(
        id=new_id("ae", now),
        occurred_at=now,
        actor=caller.principal.name,
        actor_type=caller.principal.actor_type,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        status=status,
        details=redact(dict(details or {})),
        request_id=caller.request_id,
    )


async def record(
    uow: UnitOfWork,
    runtime: Runtime,
    *,
    caller: Caller,
    action: str,
    resource_type: str,
    resource_id: str,
    details: Mapping[str, Any] | None = None,
    status: AuditStatus = AuditStatus.SUCCESS,
) -> AuditEvent:
    """Append one audit row (details redacted) in the same transaction as the change."""
    event = audit_event(
        runtime,
        caller=caller,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        details=details,
        status=status,
    )
    await uow.audit.add(event)
    return event


class AuditService:
    """Reads of the trail, and recording of refused or failed API calls."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def search(
        self, caller: Caller, *, request: PageRequest, filters: AuditFilter
    ) -> Page[AuditEvent]:
        """One page of events, newest first."""
        caller.principal.require(Permission.READ_AUDIT)
        async with self.runtime.db.uow() as uow:
            return await uow.audit.page(request=request, filters=filters)

    async def record_refusal(
        self,
        caller: Caller,
        *,
        action: str,
        resource_type: str,
        resource_id: str,
        status: AuditStatus,
        details: Mapping[str, Any],
    ) -> None:
        """Audit a mutating call that was refused or failed, in its own transaction."""
        async with self.runtime.db.uow() as uow:
            await record(
                uow,
                self.runtime,
                caller=caller,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                details=details,
                status=status,
            )
