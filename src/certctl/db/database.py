"""The database handle services use: engine, units of work, migrations and readiness."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from certctl.db import migrate
from certctl.db.engine import create_engine, is_sqlite, normalise_url
from certctl.db.repositories.certificate_reads import CertificateReads
from certctl.db.repositories.issuance_reads import CsrInputs, read_csr_inputs
from certctl.db.uow import UnitOfWork, UnitOfWorkFactory


class Database:
    """One engine and the unit-of-work factory over it."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self._backend = "sqlite" if is_sqlite(self.url) else "postgresql"
        self.engine = create_engine(self.url, pool_size=pool_size)
        self._uow = UnitOfWorkFactory(self.engine)

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql` (parsed once: every read asks)."""
        return self._backend

    def uow(self) -> UnitOfWork:
        """Open a unit of work (use as `async with db.uow() as uow:`)."""
        return self._uow()

    def single_statement(self) -> UnitOfWork:
        """A unit of work of at most one write, outside any transaction on PostgreSQL (use
        as `async with db.single_statement() as uow:`): the hottest writes (an agent's
        heartbeat) and reads that need no common snapshot spare the BEGIN and COMMIT round
        trips. A single statement is atomic on its own; a unit of work with two writes or an
        audit row must use `uow()`."""
        return self._uow.single_statement()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Reads]:
        """Reads outside any transaction (use as `async with db.read() as reads:`).

        On PostgreSQL the connection runs in autocommit: a single-statement read needs no
        snapshot beyond its own, and skipping BEGIN and COMMIT spares two of its three round
        trips. Nothing may be written through it.
        """
        async with self.engine.connect() as conn:
            if self.backend == "postgresql":
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield Reads(conn)

    async def upgrade(self) -> None:
        """Apply every pending migration."""
        await migrate.upgrade(self.engine)

    async def is_current(self) -> bool:
        """Tell whether the schema is at the newest migration shipped with this code."""
        return await migrate.current_revision(self.engine) == migrate.head_revision()

    @asynccontextmanager
    async def leader_lock(self, name: str) -> AsyncIterator[bool]:
        """Try to become the one replica running `name` now (PostgreSQL advisory lock).

        Yields whether the lock was taken; it is held on its own connection until the block
        ends. SQLite serves a single process, which is always the leader.
        """
        if self.backend == "sqlite":
            yield True
            return
        key = int.from_bytes(
            hashlib.sha256(f"certctl-loop:{name}".encode()).digest()[:8], "big", signed=True
        )
        async with self.engine.connect() as conn:
            taken = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            try:
                yield taken
            finally:
                if taken:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


class Reads:
    """The read-only statements available on a transaction-less connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.certificates = CertificateReads(conn)

    async def csr_inputs(self, certificate_id: str) -> CsrInputs | None:
        """A certificate with what issuing from a CSR reads (one statement), or None."""
        return await read_csr_inputs(self.conn, certificate_id)
