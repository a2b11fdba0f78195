"""Silences and quiet hours: their create/edit/expire use cases, authorised and audited (C3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller, Permission
from certctl.domain.quiet_hours import QuietHours, check_quiet_hours
from certctl.domain.silences import Silence, check_silence
from certctl.errors import Conflict
from certctl.services.audit import record
from certctl.services.inventory import InventoryService, ResourceSpec, audit_snapshot
from certctl.services.notifications import check_channel_type
from certctl.services.runtime import Runtime


def _silence(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    values = dict(fields)
    if existing is None:
        values.setdefault("starts_at", None)
        if values["starts_at"] is None:
            values["starts_at"] = runtime.clock.now()
    if values.get("channel"):
        check_channel_type(values["channel"])
    return values


def _quiet(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    values = dict(fields)
    if "weekdays" in values:
        values["weekdays"] = tuple(values["weekdays"] or ())
    if values.get("channel"):
        check_channel_type(values["channel"])
    return values


SILENCES = ResourceSpec(
    resource_type="silence",
    id_prefix="sil",
    domain_cls=Silence,
    repository=lambda uow: uow.silences,
    check=check_silence,
    prepare=_silence,
)
QUIET_HOURS = ResourceSpec(
    resource_type="quiet_hours",
    id_prefix="qh",
    domain_cls=QuietHours,
    repository=lambda uow: uow.quiet_hours,
    check=check_quiet_hours,
    references={"team_id": "teams"},
    prepare=_quiet,
)


class SilenceService(InventoryService[Silence]):
    """Silences: created with their author, edited, expired early (all audited)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime, SILENCES)

    async def create(self, caller: Caller, fields: Mapping[str, Any]) -> Silence:
        """A new silence, recorded with who created it."""
        return await super().create(caller, {**fields, "created_by": caller.principal.name})

    async def update(self, caller: Caller, resource_id: str, changes: Mapping[str, Any]) -> Silence:
        """Edit a silence; its author stays."""
        return await super().update(
            caller, resource_id, {k: v for k, v in changes.items() if k != "created_by"}
        )

    async def expire(self, caller: Caller, resource_id: str) -> Silence:
        """End a silence now; the rows it muted become pending in the same commit."""
        caller.principal.require(Permission.WRITE)
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            before = await uow.silences.require(resource_id)
            if not before.ends_at > now:
                raise Conflict(f"silence {resource_id} has already ended")
            after = dataclasses.replace(before, ends_at=max(now, before.starts_at), updated_at=now)
            await uow.silences.update(after)
            released = await _release(uow, now)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="silence_expired",
                resource_type="silence",
                resource_id=resource_id,
                details={**audit_snapshot(after), "released": released},
            )
        return after


async def _release(uow: UnitOfWork, now: datetime) -> int:
    """Make pending the rows of every silence no longer active (this one included)."""
    live = await uow.gates.live_silences(now)
    return await uow.gates.release_silenced([s.id for s in live if s.active(now)], now)
