"""The database handle services use: engine, units of work, migrations and readiness."""

from __future__ import annotations

from certctl.db import migrate
from certctl.db.engine import create_engine, is_sqlite, normalise_url
from certctl.db.uow import UnitOfWork, UnitOfWorkFactory


class Database:
    """One engine and the unit-of-work factory over it."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.engine = create_engine(self.url, pool_size=pool_size)
        self._uow = UnitOfWorkFactory(self.engine)

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return "sqlite" if is_sqlite(self.url) else "postgresql"

    def uow(self) -> UnitOfWork:
        """Open a unit of work (use as `async with db.uow() as uow:`)."""
        return self._uow()

    async def upgrade(self) -> None:
        """Apply every pending migration."""
        await migrate.upgrade(self.engine)

    async def is_current(self) -> bool:
        """Tell whether the schema is at the newest migration shipped with this code."""
        return await migrate.current_revision(self.engine) == migrate.head_revision()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
