"""Rate limits per API key, per client address and per sign-in account, with their state in
the database so every worker and replica counts together (C10)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import structlog

from certctl.domain.ratelimits import Backoff, Rule, seconds_until
from certctl.errors import RateLimited
from certctl.services.runtime import Runtime

log = structlog.get_logger("certctl.ratelimits")

PURGE_EVERY = 500
"""Counters of ended windows are dropped by every 500th hit of a process."""
PURGE_AFTER = timedelta(hours=1)


class RateLimiter:
    """Counts hits in fixed windows and locks accounts after repeated sign-in failures."""

    def __init__(self, runtime: Runtime, *, api_key: Rule, address: Rule, backoff: Backoff) -> None:
        self.runtime = runtime
        self.api_key = api_key
        self.address = address
        self.backoff = backoff
        self._hits = itertools.count(1)

    async def charge_key(self, name: str) -> None:
        """Count one request of an authenticated API key; raise RateLimited over the limit."""
        if self.api_key.enabled:
            await self._charge(f"key:{name}", self.api_key, f"API key {name!r}", "requests")

    async def charge_address(self, address: str) -> None:
        """Count one failed authentication or sign-in attempt of a client address."""
        if self.address.enabled:
            await self._charge(
                f"addr:{address}", self.address, f"client address {address}", "failed attempts"
            )

    async def check_address(self, address: str) -> None:
        """Raise RateLimited if the address has used up its failures for this window."""
        if not self.address.enabled:
            return
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            hits = await uow.rate_limits.hits(
                key=f"addr:{address}", window_start=self.address.window_start(now)
            )
        if hits >= self.address.limit:
            raise RateLimited(
                f"client address {address} exceeded {self.address.limit} failed attempts per "
                f"{self.address.window_seconds} s",
                retry_after=self.address.retry_after(now),
            )

    async def _charge(self, key: str, rule: Rule, who: str, what: str) -> None:
        now = self.runtime.clock.now()
        # One upsert, atomic on its own: outside a transaction it costs one round trip
        # instead of three, and holds the key's row lock only while it runs.
        async with self.runtime.db.single_statement() as uow:
            hits = await uow.rate_limits.hit(key=key, window_start=rule.window_start(now))
        if next(self._hits) % PURGE_EVERY == 0:
            async with self.runtime.db.uow() as uow:
                await uow.rate_limits.purge(before=now - PURGE_AFTER, now=now)
        if hits > rule.limit:
            if hits == rule.limit + 1:
                log.warning("ratelimit.exceeded", key=key, limit=rule.limit)
            raise RateLimited(
                f"{who} exceeded {rule.limit} {what} per {rule.window_seconds} s",
                retry_after=rule.retry_after(now),
            )

    async def check_account(self, username: str) -> None:
        """Raise RateLimited while `username` is locked after failed sign-ins."""
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            until = await uow.rate_limits.blocked_until(_account(username))
        if until is not None and until > now:
            raise RateLimited(
                "too many failed sign-ins for this account; try again later",
                retry_after=seconds_until(until, now),
            )

    async def account_failed(self, username: str) -> None:
        """Count a failed sign-in; lock the account once the streak reaches the back-off."""
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            failures = await uow.rate_limits.fail(key=_account(username), now=now)
            seconds = self.backoff.lock_seconds(failures)
            if seconds:
                until = now + timedelta(seconds=seconds)
                await uow.rate_limits.block(key=_account(username), until=until)
        if seconds:
            log.warning("auth.signin_locked", failures=failures, seconds=seconds)

    async def account_succeeded(self, username: str) -> None:
        """End the failure streak of `username`."""
        async with self.runtime.db.uow() as uow:
            await uow.rate_limits.clear(_account(username))


def _account(username: str) -> str:
    return "account:" + username.strip().lower()[:128]
