"""Shared rate-limit counters: one upsert per hit, so every worker and replica sees the same
count (C10)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import RateLimitRow


class RateLimitRepository:
    """Fixed-window counters and account locks in the rate_limits table."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self) -> Any:
        dialect = self.session.get_bind().dialect.name
        return (sqlite_insert if dialect == "sqlite" else pg_insert)(RateLimitRow)

    async def hit(self, *, key: str, window_start: datetime) -> int:
        """Count one hit in the window starting at `window_start`; return the window's count."""
        stmt = self._insert().values(key=key, window_start=window_start, hits=1)
        same_window = RateLimitRow.window_start == stmt.excluded.window_start
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "hits": case((same_window, RateLimitRow.hits + 1), else_=1),
                "window_start": stmt.excluded.window_start,
            },
        ).returning(RateLimitRow.hits)
        return int((await self.session.execute(stmt)).scalar_one())

    async def hits(self, *, key: str, window_start: datetime) -> int:
        """Hits counted for `key` in the window starting at `window_start` (0 if none)."""
        stmt = select(RateLimitRow.hits).where(
            RateLimitRow.key == key, RateLimitRow.window_start == window_start
        )
        return int(await self.session.scalar(stmt) or 0)

    async def fail(self, *, key: str, now: datetime) -> int:
        """Count one more failure in a row for `key`; return the count."""
        stmt = self._insert().values(key=key, window_start=now, hits=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"hits": RateLimitRow.hits + 1, "window_start": stmt.excluded.window_start},
        ).returning(RateLimitRow.hits)
        return int((await self.session.execute(stmt)).scalar_one())

    async def block(self, *, key: str, until: datetime) -> None:
        """Refuse `key` until `until`."""
        stmt = update(RateLimitRow).where(RateLimitRow.key == key).values(blocked_until=until)
        await self.session.execute(stmt)

    async def blocked_until(self, key: str) -> datetime | None:
        """When the lock on `key` ends, if it is locked at all."""
        stmt = select(RateLimitRow.blocked_until).where(RateLimitRow.key == key)
        found: datetime | None = await self.session.scalar(stmt)
        return found

    async def clear(self, key: str) -> None:
        """Forget `key` (a successful sign-in ends the failure streak)."""
        await self.session.execute(delete(RateLimitRow).where(RateLimitRow.key == key))

    async def purge(self, *, before: datetime, now: datetime) -> int:
        """Drop counters whose window began before `before` and that lock nothing any more."""
        stmt = delete(RateLimitRow).where(
            RateLimitRow.window_start < before,
            or_(RateLimitRow.blocked_until.is_(None), RateLimitRow.blocked_until < now),
        )
        result: Any = await self.session.execute(stmt)
        return int(result.rowcount or 0)
