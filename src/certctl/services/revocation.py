"""Revocation of local and remote certificates, and the local CAs' CRLs (C6).

A revocation commits first; publishing follows: the issuing local CA's CRL is regenerated, a
remote CA (ACME...) is told through its connector. Whatever fails to publish stays marked
unpublished and is retried by the crl loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from certctl.domain.access import Caller, Permission
from certctl.domain.certificates import ManagedCertificate
from certctl.domain.crl_entry import crl_entry_der
from certctl.domain.jobs import BulkResult
from certctl.domain.pki import CRLState, Revocation
from certctl.domain.revocation import parse_reason
from certctl.errors import CertctlError, ConfigurationError, Conflict, NotFound
from certctl.pki.ca import LocalCA
from certctl.pki.crl_encoded import sign_encoded_crl
from certctl.pki.csr import SHORT_LIVED_SECONDS
from certctl.services.certificates import CertificateService
from certctl.services.ocsp import OcspService
from certctl.services.pki import PkiService
from certctl.services.runtime import Runtime

log = structlog.get_logger("certctl.pki")

CRL_VALIDITY = timedelta(hours=24)
SHORT_LIVED = timedelta(seconds=SHORT_LIVED_SECONDS)


class CRLPublishFailed(CertctlError):
    """The crl loop could not sign the CRL of at least one CA; its summary says which."""

    def __init__(self, summary: dict[str, Any]) -> None:
        failed: dict[str, str] = summary["failed"]
        reasons = "; ".join(f"{issuer_id}: {error}" for issuer_id, error in sorted(failed.items()))
        super().__init__(f"CRL not published for {len(failed)} CA(s): {reasons}")
        self.summary = summary


class RemoteRevocations(Protocol):
    """Sends revocations to the CA that issued them when it is not the local CA."""

    async def notify(self, revocation_ids: Sequence[str] | None = None) -> dict[str, Any]:
        """Tell each revocation's issuer; unsent ones are retried by the crl loop."""
        ...


@dataclass(frozen=True)
class CRLListing:
    """The JSON view of every revocation."""

    version: int
    entries: list[Revocation]
    generated_at: datetime


class RevocationService:
    """Revoke certificates and publish the revocations (CRL, remote CA)."""

    def __init__(
        self,
        runtime: Runtime,
        certificates: CertificateService,
        pki: PkiService,
        ocsp: OcspService,
        *,
        remote: RemoteRevocations | None = None,
    ) -> None:
        self.runtime = runtime
        self.certificates = certificates
        self.pki = pki
        self.ocsp = ocsp
        self.remote_revocations = remote

    async def revoke(self, caller: Caller, cert_id: str, reason: str) -> ManagedCertificate:
        """Revoke every unexpired version (one transaction), then regenerate the CA's CRL."""
        cert, revocations = await self.certificates.revoke(caller, cert_id, reason=reason)
        issuers: dict[str, list[str]] = {}
        self._note(revocations, issuers)
        for issuer_id in sorted(issuers):
            await self._publish(issuer_id, issuers[issuer_id])
        return cert

    def _note(self, revocations: Sequence[Revocation], issuers: dict[str, list[str]]) -> None:
        """Drop cached OCSP answers of revoked serials and group the rows by issuer."""
        for revocation in revocations:
            if revocation.issuer_id is not None:
                issuers.setdefault(revocation.issuer_id, []).append(revocation.id)
                self.ocsp.invalidate_ocsp(revocation.issuer_id, revocation.serial_number)

    async def bulk_revoke(
        self, caller: Caller, ids: Sequence[str], total: int, reason: str
    ) -> BulkResult:
        """Revoke each certificate (admin only), then publish each touched CA's CRL once."""
        caller.principal.require(Permission.ADMIN)
        parse_reason(reason)  # an unknown reason fails the whole request, before any change
        revoked = skipped = 0
        errors: list[tuple[str, str]] = []
        issuers: dict[str, list[str]] = {}
        for cert_id in ids:
            try:
                _, revocations = await self.certificates.revoke(
                    caller, cert_id, reason=reason, refresh_gauge=False
                )
            except Conflict:  # already revoked or archived
                skipped += 1
                continue
            except CertctlError as exc:
                errors.append((cert_id, exc.detail))
                continue
            revoked += 1
            self._note(revocations, issuers)
        if revoked:
            await self.certificates.refresh_alert_gauge()
        for issuer_id in sorted(issuers):
            await self._publish(issuer_id, issuers[issuer_id])
        return BulkResult(
            total_matched=total,
            total_enqueued=revoked,
            total_skipped=skipped,
            total_failed=len(errors),
            errors=tuple(errors),
        )

    async def _publish(self, issuer_id: str, revocation_ids: Sequence[str]) -> None:
        """Regenerate a local CA's CRL after revocations and mark them as published there.

        The revocation is already committed, so a publishing failure does not fail the
        request: it is logged with its cause, the rows stay unpublished, and the crl loop
        retries them and reports them until it succeeds.
        """
        try:
            async with self.runtime.db.uow() as uow:
                has_ca = await uow.pki.get_ca(issuer_id) is not None
            if not has_ca:
                if self.remote_revocations is not None:
                    await self.remote_revocations.notify(revocation_ids)
                return
            await self.regenerate_crl(issuer_id)
            async with self.runtime.db.uow() as uow:
                for revocation_id in revocation_ids:
                    await uow.pki.mark_notified(revocation_id)
        except Exception as exc:  # the revocation is committed; see above
            log.error(
                "pki.crl_after_revocation_failed",
                issuer_id=issuer_id,
                revocation_ids=list(revocation_ids),
                error=f"{type(exc).__name__}: {exc}",
                exc_info=exc,
            )

    async def listing(self, caller: Caller) -> CRLListing:
        """Every revoked serial, for the JSON CRL."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            entries = await uow.pki.all_revocations()
        return CRLListing(version=2, entries=entries, generated_at=self.runtime.clock.now())

    async def regenerate_crl(self, issuer_id: str) -> CRLState:
        """Sign a new CRL with the next CRL number (taken atomically in the database).

        The entries are read already encoded, in CRL order (each was encoded when its
        revocation was recorded), so nothing is decoded or rebuilt per entry; what is
        CPU-bound after the read (signature over megabytes, base64, ETag) runs in a worker
        thread, so a CRL of 100,000 entries does not hold the event loop.
        """
        async with self.runtime.db.uow() as uow:
            ca = await self.pki.ca(uow, issuer_id)
            entries = await uow.pki.crl_entries(issuer_id, min_lifetime=SHORT_LIVED)
            for serial_hex, revoked_at, reason in entries.unencoded:
                crl_entry_der(serial_hex, revoked_at, reason)  # raises why it cannot be listed
            if entries.unencoded:
                raise ConfigurationError(
                    f"revocations of {issuer_id} without a stored CRL entry:"
                    f" {len(entries.unencoded)}"
                )
            number = await uow.pki.next_crl_number(issuer_id)
            now = self.runtime.clock.now()
            next_update = now + CRL_VALIDITY
            der_b64, etag = await asyncio.to_thread(
                _signed_crl,
                ca,
                entries.der,
                crl_number=number,
                this_update=now,
                next_update=next_update,
            )
            del entries
            await uow.pki.save_crl(
                issuer_id,
                der_b64=der_b64,
                this_update=now,
                next_update=next_update,
                etag=etag,
            )
        state = CRLState(
            issuer_id=issuer_id,
            crl_number=number,
            der_b64=der_b64,
            this_update=now,
            next_update=next_update,
            etag=etag,
        )
        return state

    async def crl(self, issuer_id: str) -> tuple[bytes, CRLState]:
        """The CA's current DER CRL, generated now when none exists or it is out of date."""
        async with self.runtime.db.uow() as uow:
            state = await uow.pki.get_crl(issuer_id)
        if state is None:
            raise NotFound("issuer_ca", issuer_id)
        now = self.runtime.clock.now()
        if state.der_b64 is None or state.next_update is None or state.next_update <= now:
            state = await self.regenerate_crl(issuer_id)
        assert state.der_b64 is not None
        return base64.b64decode(state.der_b64), state

    async def regenerate_all(self) -> dict[str, Any]:
        """The crl loop: a fresh CRL for every local CA, publishing revocations left pending.

        A CA whose CRL cannot be signed is reported with its error and its count of
        unpublished revocations; the loop raises `CRLPublishFailed` after trying every CA so
        its run is recorded as failed.
        """
        async with self.runtime.db.uow() as uow:
            issuer_ids = await uow.pki.ca_issuer_ids()
        numbers: dict[str, int] = {}
        published = 0
        failed: dict[str, str] = {}
        for issuer_id in issuer_ids:
            async with self.runtime.db.uow() as uow:
                pending = await uow.pki.unpublished_revocations(issuer_id)
            try:
                numbers[issuer_id] = (await self.regenerate_crl(issuer_id)).crl_number
            except Exception as exc:  # one CA failing must not stop the others
                error = f"{type(exc).__name__}: {exc}"
                log.error(
                    "pki.crl_failed",
                    issuer_id=issuer_id,
                    unpublished=len(pending),
                    error=error,
                    exc_info=exc,
                )
                failed[issuer_id] = f"{error} ({len(pending)} revocations unpublished)"
                continue
            async with self.runtime.db.uow() as uow:
                for revocation_id in pending:
                    await uow.pki.mark_notified(revocation_id)
            published += len(pending)
        result = {
            "generated": len(numbers),
            "published_revocations": published,
            "failed": failed,
            "crl_numbers": numbers,
        }
        if failed:
            raise CRLPublishFailed(result)
        return result


def _signed_crl(
    ca: LocalCA,
    entries_der: bytes,
    *,
    crl_number: int,
    this_update: datetime,
    next_update: datetime,
) -> tuple[str, str]:
    """The CRL of the stored entries as stored (base64 DER) and its ETag."""
    der = sign_encoded_crl(
        ca, entries_der, crl_number=crl_number, this_update=this_update, next_update=next_update
    )
    return base64.b64encode(der).decode(), f'"{hashlib.sha256(der).hexdigest()[:32]}"'
