"""Repositories of dashboard users and dashboard sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import DashboardSessionRow, DashboardUserRow
from certctl.db.repositories.base import Codec, Repository
from certctl.domain.access import Role
from certctl.domain.users import DashboardSession, DashboardUser, SessionKind

USER = Codec(DashboardUser, {"role": Role})
SESSION = Codec(DashboardSession, {"role": Role, "kind": SessionKind})


class UserRepository(Repository[DashboardUser]):
    """Dashboard users, looked up by username at sign-in."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, DashboardUserRow, USER, "dashboard_user", ("username",))

    async def by_username(self, username: str) -> DashboardUser | None:
        """The user called `username`, or None."""
        row = await self.session.scalar(
            select(DashboardUserRow).where(DashboardUserRow.username == username)
        )
        return None if row is None else self.decode(row)


class SessionRepository(Repository[DashboardSession]):
    """Server-side dashboard sessions, keyed by the hash of the cookie's token."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, DashboardSessionRow, SESSION, "dashboard_session")

    async def remove(self, session_id: str) -> None:
        """Forget a session (logout); an unknown id is not an error."""
        await self.session.execute(
            delete(DashboardSessionRow).where(DashboardSessionRow.id == session_id)
        )

    async def remove_expired(self, now: datetime) -> int:
        """Delete every session whose lifetime is over; answer how many."""
        result = await self.session.execute(
            delete(DashboardSessionRow).where(DashboardSessionRow.expires_at <= now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
