"""A local-CA issuance from a CSR reads its inputs once and writes the certificate in place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.certificates import CertificateStatus
from certctl.errors import NotFound
from certctl.testing.queries import driver_queries

from .test_local_ca import _certificate, _local_issuer, make_csr


@contextmanager
def counted(ctx: AppContext) -> Iterator[list[str]]:
    """The SQL statements the application's engine sends while the block runs, and a
    "BEGIN" entry for each transaction it opens."""
    sent: list[str] = []

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    def begin(_conn: Any) -> None:
        sent.append("BEGIN")

    engine = ctx.runtime.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", hook)
    event.listen(engine, "begin", begin)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", hook)
        event.remove(engine, "begin", begin)


def driver_statements(logged: list[str]) -> list[str]:
    """The statements sent on the driver itself (SQLAlchemy's events do not see them), without
    transaction control."""
    return [q for q in logged if not q.upper().startswith(("BEGIN", "COMMIT"))]


async def test_csr_issuance_sends_seven_statements_plus_sqlite_audit_head(
    api: httpx.AsyncClient, ctx: AppContext, backend: str, tmp_path: Path
) -> None:
    """With the CA loaded, a CSR issues in 7 statements: 1 read of its inputs outside any
    transaction (certificate, open job, issuer, profile and CA row joined, and no newest
    chain, which only ACME sends; on PostgreSQL straight through the driver), then one write
    transaction of 6 (the certificate with its window and open-alert flags, the version, the
    certificate update, 3 of audit: no renewal window to drop and no open alert to lock),
    plus SQLite's insert of the audit head that takes its write lock."""
    issuer_id = await _local_issuer(api)
    first = await _certificate(api, issuer_id)
    second = await _certificate(api, issuer_id, name="api", common_name="api.example.com")
    await ctx.jobs.submit_csr(SYSTEM_CALLER, first, make_csr(tmp_path, "web.example.com"))
    csr = make_csr(tmp_path, "api.example.com", name="api")
    with counted(ctx) as sent, driver_queries(ctx.runtime.db) as logged:
        cert, version = await ctx.jobs.submit_csr(SYSTEM_CALLER, second, csr)  # type: ignore[misc]
    assert (cert.status, version.certificate_id) == (CertificateStatus.ACTIVE, second)
    direct = driver_statements(logged)
    statements = [s for s in sent if s != "BEGIN"] + direct
    assert len(direct) == {"sqlite": 0, "postgresql": 1}[backend], logged
    assert len(statements) == {"sqlite": 8, "postgresql": 7}[backend], statements
    assert sum("LEFT OUTER JOIN jobs" in s for s in statements) == 1
    assert sent.count("BEGIN") == {"sqlite": 2, "postgresql": 1}[backend], sent
    assert not any("FROM certificate_versions" in s for s in statements)
    assert sum(s.lstrip().upper().startswith("UPDATE MANAGED_CERTIFICATES") for s in sent) == 1


async def test_newest_chain_is_the_latest_version(
    api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock, tmp_path: Path
) -> None:
    """newest_chain is None before the first version, then the chain of the newest one."""
    issuer_id = await _local_issuer(api)
    cert_id = await _certificate(api, issuer_id)
    async with ctx.runtime.db.uow() as uow:
        assert await uow.versions.newest_chain(cert_id) is None
    await ctx.jobs.submit_csr(SYSTEM_CALLER, cert_id, make_csr(tmp_path, "web.example.com"))
    clock.advance(timedelta(hours=1))
    _, renewed = await ctx.jobs.submit_csr(  # type: ignore[misc]
        SYSTEM_CALLER, cert_id, make_csr(tmp_path, "web.example.com")
    )
    async with ctx.runtime.db.uow() as uow:
        assert await uow.versions.newest_chain(cert_id) == renewed.pem_chain
        assert len(await uow.versions.for_certificate(cert_id)) == 2


async def test_own_columns_update_of_a_missing_certificate_is_not_found(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """update_own_columns on an id with no row raises NotFound naming the certificate."""
    issuer_id = await _local_issuer(api)
    cert_id = await _certificate(api, issuer_id)
    async with ctx.runtime.db.uow() as uow:
        cert = await uow.certificates.require(cert_id)
    gone = cert.__class__(**{**cert.__dict__, "id": "mc-missing"})
    with pytest.raises(NotFound) as raised:
        async with ctx.runtime.db.uow() as uow:
            await uow.certificates.update_own_columns(gone)
    assert "mc-missing" in str(raised.value)
