"""Create, read, update and delete of the inventory resources, audited and validated."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from certctl.db.repositories.base import Repository
from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller, Permission
from certctl.domain.audit import jsonable
from certctl.domain.ids import check_client_id, new_id
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.errors import InvalidRequest
from certctl.services.audit import record
from certctl.services.runtime import Runtime

D = TypeVar("D")


class Prepare(Protocol):
    """Adjusts incoming fields before the object is built (e.g. sealing secrets)."""

    def __call__(
        self, runtime: Runtime, fields: dict[str, Any], existing: Any | None
    ) -> dict[str, Any]: ...


class AfterCreate(Protocol):
    """Runs in the creating (or updating) transaction once the resource's row is written."""

    async def __call__(
        self, runtime: Runtime, uow: UnitOfWork, caller: Caller, obj: Any
    ) -> None: ...


class Guard(Protocol):
    """Refuses an update the caller's role may not make (e.g. weakening a control)."""

    async def __call__(
        self, runtime: Runtime, uow: UnitOfWork, caller: Caller, before: Any, after: Any
    ) -> None: ...


def _no_prepare(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    return fields


@dataclass(frozen=True)
class ResourceSpec(Generic[D]):
    """How one inventory resource is named, stored, validated and cross-checked."""

    resource_type: str
    id_prefix: str
    domain_cls: Callable[..., D]
    repository: Callable[[UnitOfWork], Repository[D]]
    check: Callable[[D], None] | None = None
    references: Mapping[str, str] = field(default_factory=dict)
    list_references: Mapping[str, str] = field(default_factory=dict)
    prepare: Prepare = _no_prepare
    after_create: AfterCreate | None = None
    after_update: AfterCreate | None = None
    guard: Guard | None = None


async def check_references(
    uow: UnitOfWork,
    fields: Mapping[str, Any],
    references: Mapping[str, str],
    list_references: Mapping[str, str] | None = None,
) -> None:
    """Raise InvalidRequest naming the field when a referenced id does not exist."""
    for name, repo_attr in references.items():
        value = fields.get(name)
        repo: Repository[Any] = getattr(uow, repo_attr)
        if value is not None and not await repo.exists(value):
            raise InvalidRequest(f"{repo.resource_type} {value!r} not found", field=name)
    for name, repo_attr in (list_references or {}).items():
        repo = getattr(uow, repo_attr)
        for index, value in enumerate(fields.get(name) or ()):
            if not await repo.exists(value):
                raise InvalidRequest(
                    f"{repo.resource_type} {value!r} not found", field=f"{name}[{index}]"
                )


def changed_fields(before: Any, after: Any) -> dict[str, Any]:
    """Field-by-field difference of two dataclass values, for audit details."""
    diff = {}
    for f in dataclasses.fields(before):
        if f.name in {"updated_at", "sealed_secrets"}:
            continue
        old, new = getattr(before, f.name), getattr(after, f.name)
        if old != new:
            diff[f.name] = {"from": jsonable(old), "to": jsonable(new)}
    return diff


def audit_snapshot(obj: Any) -> dict[str, Any]:
    """A JSON view of an object for audit details (secrets are redacted downstream)."""
    data = jsonable(obj)
    data.pop("sealed_secrets", None)
    return dict(data)


class InventoryService(Generic[D]):
    """The standard lifecycle of one inventory resource."""

    def __init__(self, runtime: Runtime, spec: ResourceSpec[D]) -> None:
        self.runtime = runtime
        self.spec = spec

    async def create(self, caller: Caller, fields: Mapping[str, Any]) -> D:
        """Validate and insert a new resource, auditing `<type>_created`."""
        caller.principal.require(Permission.WRITE)
        now = self.runtime.clock.now()
        values = dict(fields)
        given_id = values.pop("id", None)
        resource_id = check_client_id(given_id) if given_id else new_id(self.spec.id_prefix, now)
        values = self.spec.prepare(self.runtime, values, None)
        obj = self.spec.domain_cls(id=resource_id, created_at=now, updated_at=now, **values)
        if self.spec.check:
            self.spec.check(obj)
        async with self.runtime.db.uow() as uow:
            await check_references(uow, values, self.spec.references, self.spec.list_references)
            await self.spec.repository(uow).add(obj)
            await self._audit(uow, caller, "created", resource_id, audit_snapshot(obj))
            if self.spec.after_create is not None:
                await self.spec.after_create(self.runtime, uow, caller, obj)
        return obj

    async def get(self, caller: Caller, resource_id: str) -> D:
        """Return one resource or raise NotFound."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await self.spec.repository(uow).require(resource_id)

    async def search(
        self,
        caller: Caller,
        *,
        request: PageRequest,
        sort: SortKey,
        equals: Mapping[str, Any] | None = None,
        q: str | None = None,
    ) -> Page[D]:
        """One page of resources."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await self.spec.repository(uow).page(
                request=request, sort=sort, equals=equals, q=q
            )

    async def update(self, caller: Caller, resource_id: str, changes: Mapping[str, Any]) -> D:
        """Apply a partial update, auditing the changed fields."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            repo = self.spec.repository(uow)
            before = await repo.require(resource_id)
            values = self.spec.prepare(self.runtime, dict(changes), before)
            after = dataclasses.replace(  # type: ignore[type-var]
                before, updated_at=self.runtime.clock.now(), **values
            )
            if self.spec.check:
                self.spec.check(after)
            await check_references(uow, values, self.spec.references, self.spec.list_references)
            if self.spec.guard is not None:
                await self.spec.guard(self.runtime, uow, caller, before, after)
            await repo.update(after)
            await self._audit(uow, caller, "updated", resource_id, changed_fields(before, after))
            if self.spec.after_update is not None:
                await self.spec.after_update(self.runtime, uow, caller, after)
        return after

    async def delete(self, caller: Caller, resource_id: str) -> None:
        """Delete a resource that nothing references any more."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            repo = self.spec.repository(uow)
            before = await repo.require(resource_id)
            await repo.delete(resource_id)
            await self._audit(uow, caller, "deleted", resource_id, audit_snapshot(before))

    async def _audit(
        self,
        uow: UnitOfWork,
        caller: Caller,
        verb: str,
        resource_id: str,
        details: Mapping[str, Any],
    ) -> None:
        await record(
            uow,
            self.runtime,
            caller=caller,
            action=f"{self.spec.resource_type}_{verb}",
            resource_type=self.spec.resource_type,
            resource_id=resource_id,
            details=details,
        )


def tuples(values: Sequence[Any]) -> tuple[Any, ...]:
    """Freeze a list for a domain value."""
    return tuple(values)
