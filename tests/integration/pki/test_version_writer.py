"""Issued versions queued together are written in one transaction, each with its own outcome."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.certificates import CertificateStatus
from certctl.domain.listing import PageRequest
from certctl.errors import Conflict, InvalidRequest, NotFound
from certctl.services.issuance import IssuanceService
from certctl.services.version_writer import MAX_BATCH, IssuedVersion

from .test_issuance_statements import counted
from .test_local_ca import _certificate, _local_issuer, make_csr


async def _signed(
    ctx: AppContext, tmp: Path, cert_id: str, common_name: str, *, name: str = "leaf"
) -> IssuedVersion:
    """A chain the local CA signed for the certificate, not stored yet."""
    service: IssuanceService = ctx.issuance
    csr = make_csr(tmp, common_name, name=name)
    issuer, connector, request = await service.prepare(SYSTEM_CALLER, cert_id, csr)
    issued = await connector.issue(request, _Journal())
    assert issued.leaf is not None
    now = ctx.runtime.clock.now()
    return IssuedVersion(SYSTEM_CALLER, cert_id, issuer, csr, issued.chain_pem, issued.leaf, now)


class _Journal:
    async def save(self, state: object) -> None:
        """Nothing to keep."""


async def _three(api: httpx.AsyncClient, ctx: AppContext, tmp: Path) -> list[IssuedVersion]:
    """Three certificates of one local CA, each with a signed chain waiting to be stored."""
    issuer_id = await _local_issuer(api)
    items = []
    for name in ("web", "api", "mail"):
        cert_id = await _certificate(api, issuer_id, name=name, common_name=f"{name}.example.com")
        items.append(await _signed(ctx, tmp, cert_id, f"{name}.example.com", name=name))
    return items


async def _issued_audit(ctx: AppContext, cert_id: str) -> list[str]:
    """The version ids of the certificate's certificate_issued audit rows, newest first."""
    return list(await _previous_statuses(ctx, cert_id))


async def _versions(ctx: AppContext, cert_id: str) -> list[str]:
    async with ctx.runtime.db.uow() as uow:
        return [v.id for v in await uow.versions.for_certificate(cert_id)]


async def test_versions_queued_together_share_one_transaction(
    api: httpx.AsyncClient, ctx: AppContext, backend: str, tmp_path: Path
) -> None:
    """Three versions queued before the writer runs are stored in one transaction of 6
    statements (7 on SQLite, which also inserts the audit head): certificates read with their
    window and alert flags, versions, certificates updated, 3 of audit; none has a renewal
    window to drop or an open alert to lock."""
    items = await _three(api, ctx, tmp_path)
    with counted(ctx) as sent:
        stored = await asyncio.gather(*(ctx.issuance.writer.store(i) for i in items))
    assert sent.count("BEGIN") == 1, sent
    assert len(sent) - 1 == {"sqlite": 7, "postgresql": 6}[backend], sent
    assert [(c.id, c.status, v.certificate_id) for c, v in stored] == [
        (i.certificate_id, CertificateStatus.ACTIVE, i.certificate_id) for i in items
    ]
    for item, (_, version) in zip(items, stored, strict=True):
        assert await _versions(ctx, item.certificate_id) == [version.id]
        assert await _issued_audit(ctx, item.certificate_id) == [version.id]


async def test_an_archived_certificate_is_refused_alone(
    api: httpx.AsyncClient, ctx: AppContext, tmp_path: Path
) -> None:
    """A certificate archived after signing gets the 422 it would get alone and no version,
    while the two others queued with it are stored."""
    web, api_item, mail = await _three(api, ctx, tmp_path)
    await ctx.certificates.archive(SYSTEM_CALLER, api_item.certificate_id)
    outcomes = await asyncio.gather(
        *(ctx.issuance.writer.store(i) for i in (web, api_item, mail)), return_exceptions=True
    )
    refused = outcomes[1]
    assert isinstance(refused, InvalidRequest)
    assert str(refused) == "certificate is Archived; it cannot be issued again"
    assert refused.field == "certificate_id"
    assert await _versions(ctx, api_item.certificate_id) == []
    assert await _issued_audit(ctx, api_item.certificate_id) == []
    for item, outcome in ((web, outcomes[0]), (mail, outcomes[2])):
        assert not isinstance(outcome, BaseException)
        assert await _versions(ctx, item.certificate_id) == [outcome[1].id]


async def test_a_missing_certificate_is_not_found_alone(
    api: httpx.AsyncClient, ctx: AppContext, tmp_path: Path
) -> None:
    """A version for a certificate id with no row is NotFound naming it; the others are
    stored."""
    web, api_item, mail = await _three(api, ctx, tmp_path)
    ghost = IssuedVersion(
        SYSTEM_CALLER, "mc-missing", web.issuer, web.csr_pem, web.chain_pem, web.leaf, web.now
    )
    outcomes = await asyncio.gather(
        ctx.issuance.writer.store(api_item),
        ctx.issuance.writer.store(ghost),
        ctx.issuance.writer.store(mail),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], NotFound)
    assert str(outcomes[1]) == "certificate 'mc-missing' not found"
    assert [isinstance(o, BaseException) for o in outcomes] == [False, True, False]
    assert len(await _versions(ctx, api_item.certificate_id)) == 1
    assert len(await _versions(ctx, mail.certificate_id)) == 1


async def test_a_batch_the_database_refuses_is_written_item_by_item(
    api: httpx.AsyncClient, ctx: AppContext, tmp_path: Path
) -> None:
    """Two certificates queued with the same chain break the fingerprint's uniqueness: the
    batch is written again one by one, the first stored, the second a Conflict with no
    version, and the third unaffected."""
    web, api_item, mail = await _three(api, ctx, tmp_path)
    clash = IssuedVersion(
        SYSTEM_CALLER,
        api_item.certificate_id,
        api_item.issuer,
        api_item.csr_pem,
        web.chain_pem,
        web.leaf,
        api_item.now,
    )
    with counted(ctx) as sent:
        outcomes = await asyncio.gather(
            *(ctx.issuance.writer.store(i) for i in (web, clash, mail)), return_exceptions=True
        )
    assert sent.count("BEGIN") == 4  # the batch, then each item alone
    assert isinstance(outcomes[1], Conflict)
    assert await _versions(ctx, api_item.certificate_id) == []
    assert await _issued_audit(ctx, api_item.certificate_id) == []
    for item, outcome in ((web, outcomes[0]), (mail, outcomes[2])):
        assert not isinstance(outcome, BaseException)
        assert await _versions(ctx, item.certificate_id) == [outcome[1].id]


async def test_two_versions_of_one_certificate_go_in_successive_transactions(
    api: httpx.AsyncClient, ctx: AppContext, tmp_path: Path
) -> None:
    """A second version queued for the same certificate waits for the next transaction and
    sees the first: its audit row's previous status is Active, not Pending."""
    web, _, _ = await _three(api, ctx, tmp_path)
    again = await _signed(ctx, tmp_path, web.certificate_id, "web.example.com", name="again")
    with counted(ctx) as sent:
        first, second = await asyncio.gather(
            ctx.issuance.writer.store(web), ctx.issuance.writer.store(again)
        )
    assert sent.count("BEGIN") == 2
    async with ctx.runtime.db.uow() as uow:
        cert = await uow.certificates.require(web.certificate_id)
    assert cert.expires_at == second[1].not_after
    previous = await _previous_statuses(ctx, web.certificate_id)
    assert previous == {first[1].id: "Pending", second[1].id: "Active"}


async def _previous_statuses(ctx: AppContext, cert_id: str) -> dict[str, str]:
    """Version id -> previous_status of the certificate's certificate_issued audit rows."""
    async with ctx.runtime.db.uow() as uow:
        page = await uow.audit.page(
            request=PageRequest(per_page=50),
            filters=AuditFilter(resource_id=cert_id, action="certificate_issued"),
        )
    return {str(e.details["version_id"]): str(e.details["previous_status"]) for e in page.items}


async def test_a_batch_holds_at_most_max_batch_versions(
    api: httpx.AsyncClient, ctx: AppContext, tmp_path: Path
) -> None:
    """MAX_BATCH + 1 versions queued at once take two write transactions, every one stored."""
    issuer_id = await _local_issuer(api)
    csr = make_csr(tmp_path, "web.example.com")
    items = []
    for n in range(MAX_BATCH + 1):
        cert_id = await _certificate(api, issuer_id, name=f"c{n}")
        issuer, connector, request = await ctx.issuance.prepare(SYSTEM_CALLER, cert_id, csr)
        issued = await connector.issue(request, _Journal())
        assert issued.leaf is not None
        now = ctx.runtime.clock.now()
        items.append(
            IssuedVersion(SYSTEM_CALLER, cert_id, issuer, csr, issued.chain_pem, issued.leaf, now)
        )
    with counted(ctx) as sent:
        stored = await asyncio.gather(*(ctx.issuance.writer.store(i) for i in items))
    assert sent.count("BEGIN") == 2
    assert [v.certificate_id for _, v in stored] == [i.certificate_id for i in items]
    for item, (_, version) in zip(items, stored, strict=True):
        assert await _versions(ctx, item.certificate_id) == [version.id]
