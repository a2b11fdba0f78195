"""API keys: authentication of presented keys, and creation/revocation of stored ones."""

from __future__ import annotations

import hmac
from dataclasses import replace

from certctl.domain.access import (
    Caller,
    Permission,
    Principal,
    Role,
    generate_api_key,
    hash_api_key,
)
from certctl.domain.ids import new_id
from certctl.domain.inventory import ApiKey
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.errors import AuthenticationRequired, Conflict
from certctl.services.audit import record
from certctl.services.runtime import Runtime


class ApiKeyService:
    """Keys from configuration (in memory) and from the database (hashed)."""

    def __init__(self, runtime: Runtime, configured: dict[str, Principal]) -> None:
        self.runtime = runtime
        self._configured = configured

    async def authenticate(self, presented: str) -> Principal:
        """Return the principal for a presented key, or raise AuthenticationRequired."""
        digest = hash_api_key(presented)
        for stored, principal in self._configured.items():
            if hmac.compare_digest(stored, digest):
                return principal
        async with self.runtime.db.uow() as uow:
            key = await uow.api_keys.by_hash(digest)
        if key is None or key.revoked_at is not None:
            raise AuthenticationRequired("the API key is not valid")
        return Principal(name=key.name, role=key.role)

    async def create(self, caller: Caller, *, name: str, role: Role) -> tuple[ApiKey, str]:
        """Store a new key's hash and return the key itself (shown once)."""
        caller.principal.require(Permission.ADMIN)
        if any(p.name == name for p in self._configured.values()):
            raise Conflict(f"an API key named {name!r} is configured in the environment")
        now = self.runtime.clock.now()
        secret = generate_api_key()
        key = ApiKey(
            id=new_id("key", now),
            name=name,
            role=role,
            key_hash=hash_api_key(secret),
            created_at=now,
            created_by=caller.principal.name,
        )
        async with self.runtime.db.uow() as uow:
            await uow.api_keys.add(key)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="api_key_created",
                resource_type="api_key",
                resource_id=key.id,
                details={"name": name, "role": role.value},
            )
        return key, secret

    async def search(self, caller: Caller, *, request: PageRequest) -> Page[ApiKey]:
        """Stored keys (hashes are never returned by the API)."""
        caller.principal.require(Permission.ADMIN)
        async with self.runtime.db.uow() as uow:
            return await uow.api_keys.page(request=request, sort=SortKey("created_at"))

    async def revoke(self, caller: Caller, key_id: str) -> ApiKey:
        """Revoke a stored key; it stops authenticating at once."""
        caller.principal.require(Permission.ADMIN)
        async with self.runtime.db.uow() as uow:
            key = await uow.api_keys.require(key_id)
            if key.revoked_at is not None:
                raise Conflict("API key is already revoked")
            key = replace(key, revoked_at=self.runtime.clock.now())
            await uow.api_keys.update(key)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="api_key_revoked",
                resource_type="api_key",
                resource_id=key.id,
                details={"name": key.name},
            )
        return key
