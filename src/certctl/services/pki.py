"""The local CA (GenericCA issuers): CA provisioning, revocation, CRL and OCSP.

CPU-bound work (key generation, CSR checks, signing) runs in worker threads so the event
loop keeps serving. The CA key and the OCSP responder key are sealed at rest with the
configuration encryption key and never leave this service.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller, Permission
from certctl.domain.certificates import (
    CertificateStatus,
    ManagedCertificate,
)
from certctl.domain.inventory import Issuer, IssuerType
from certctl.domain.jobs import BulkResult
from certctl.domain.pki import CRLState, IssuedSerial, Revocation, StoredCA
from certctl.domain.revocation import RevocationReason, parse_reason
from certctl.errors import CertctlError, Conflict, InvalidRequest, NotFound
from certctl.pki.ca import LocalCA, create_root, load_sub_ca
from certctl.pki.crl import RevokedEntry, build_crl
from certctl.pki.csr import SHORT_LIVED_SECONDS
from certctl.pki.facts import first_certificate_der
from certctl.pki.keys import private_key_to_pem
from certctl.pki.ocsp import (
    CertStatus,
    OCSPRequestInfo,
    ResponderCert,
    build_response,
    load_responder,
    make_responder,
    malformed_response,
    needs_rotation,
    parse_request,
    unauthorized_response,
)
from certctl.pki.sealing import Sealer
from certctl.services.audit import record
from certctl.services.certificates import CertificateService
from certctl.services.runtime import Runtime
from certctl.services.secrets import open_secrets

log = structlog.get_logger("certctl.pki")

CRL_VALIDITY = timedelta(hours=24)
OCSP_VALIDITY = timedelta(hours=24)
OCSP_CACHE_TTL = timedelta(minutes=5)
"""How long a signed answer to a nonce-less request is reused. A revocation invalidates the
answers of this process at once; another replica's cached answers age out within this time."""
OCSP_CACHE_SIZE = 100_000
ROOT_VALIDITY_DAYS = 3650
MAX_DAYS = 36500
SHORT_LIVED = timedelta(seconds=SHORT_LIVED_SECONDS)
_FINAL = frozenset({CertificateStatus.REVOKED, CertificateStatus.ARCHIVED})


def _require_sealer(runtime: Runtime) -> Sealer:
    if runtime.sealer is None:
        raise InvalidRequest(
            "a GenericCA issuer keeps its CA key encrypted: set CERTCTL_CONFIG_ENCRYPTION_KEY",
            field="config",
        )
    return runtime.sealer


def _build_ca(runtime: Runtime, issuer: Issuer, now: datetime) -> tuple[LocalCA, str]:
    """The issuer's CA from its config: a loaded sub-CA, or a fresh self-signed root."""
    config: Mapping[str, Any] = issuer.config or {}
    secrets = open_secrets(issuer.sealed_secrets, runtime.sealer)
    cert_pem = config.get("ca_certificate_pem")
    key_pem = secrets.get("ca_private_key_pem")
    if cert_pem or key_pem:
        if not cert_pem or not key_pem:
            raise InvalidRequest(
                "a sub-CA needs both ca_certificate_pem and ca_private_key_pem",
                field="config.ca_certificate_pem" if not cert_pem else "config.ca_private_key_pem",
            )
        password = secrets.get("ca_private_key_password")
        return load_sub_ca(str(cert_pem), str(key_pem), now, password=password), "sub_ca"
    common_name = str(config.get("common_name") or issuer.name[:64])
    key_spec = str(config.get("key_spec") or "ECDSA-P256")
    days = config_days(config, "validity_days", ROOT_VALIDITY_DAYS)
    return create_root(common_name, key_spec, now=now, validity_days=days), "root"


def config_days(config: Mapping[str, Any], name: str, default: int) -> int:
    """A whole number of days from the issuer config, 1 to MAX_DAYS."""
    value = config.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise InvalidRequest(
            f"{name} must be a whole number of days from 1 to {MAX_DAYS}", field=f"config.{name}"
        )
    return value


async def provision_issuer_ca(runtime: Runtime, uow: UnitOfWork, caller: Caller, obj: Any) -> None:
    """After-create hook of issuers: a GenericCA gets its CA, created once and persisted."""
    issuer: Issuer = obj
    if issuer.type != IssuerType.GENERIC_CA:
        return
    sealer = _require_sealer(runtime)
    now = runtime.clock.now()
    ca, mode = await asyncio.to_thread(_build_ca, runtime, issuer, now)
    sealed_key = sealer.seal(private_key_to_pem(ca.key).encode())
    await uow.pki.add_ca(
        StoredCA(
            issuer_id=issuer.id, ca_chain_pem=ca.chain_pem, sealed_key=sealed_key, created_at=now
        )
    )
    await record(
        uow,
        runtime,
        caller=caller,
        action="issuer_ca_created",
        resource_type="issuer",
        resource_id=issuer.id,
        details={
            "mode": mode,
            "subject": ca.certificate.subject.rfc4514_string(),
            "serial_number": format(ca.certificate.serial_number, "x"),
            "not_after": ca.certificate.not_valid_after_utc.isoformat(),
        },
    )


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
class _Cached:
    """A signed OCSP answer and until when it may be served again."""

    der: bytes
    until: datetime


@dataclass(frozen=True)
class CRLListing:
    """The JSON view of every revocation."""

    version: int
    entries: list[Revocation]
    generated_at: datetime


class PkiService:
    """Use cases of the local CA."""

    def __init__(
        self, runtime: Runtime, certificates: CertificateService, *, public_url: str | None
    ) -> None:
        self.runtime = runtime
        self.certificates = certificates
        self.public_url = public_url.rstrip("/") if public_url else None
        self._cas: dict[str, tuple[str, LocalCA]] = {}
        self._responders: dict[str, tuple[str, ResponderCert]] = {}
        # (issuer id, serial) -> {CertID hashes -> (DER answer, reusable until)}
        self._ocsp_cache: dict[tuple[str, str], dict[tuple[str, bytes, bytes], _Cached]] = {}
        # Set by the composition root: tells remote CAs (ACME...) about their revocations.
        self.remote_revocations: RemoteRevocations | None = None

    # --- CA material -------------------------------------------------------------------

    async def chain_pem(self, issuer_id: str) -> str:
        """The CA chain (CA first) of a GenericCA issuer; public."""
        async with self.runtime.db.uow() as uow:
            stored = await uow.pki.get_ca(issuer_id)
        if stored is None:
            raise NotFound("issuer_ca", issuer_id)
        return stored.ca_chain_pem

    async def ca_certificate_der(self, issuer_id: str) -> bytes:
        """The issuing CA's own certificate in DER, for the AIA caIssuers URL; public."""
        return first_certificate_der(await self.chain_pem(issuer_id))

    def _load(self, stored: StoredCA) -> LocalCA:
        # Keyed by the sealed key too: an issuer deleted and re-created under the same id
        # has a different CA.
        cached = self._cas.get(stored.issuer_id)
        if cached is not None and cached[0] == stored.sealed_key:
            return cached[1]
        sealer = _require_sealer(self.runtime)
        key_pem = sealer.open(stored.sealed_key).decode()
        ca = load_sub_ca(stored.ca_chain_pem, key_pem, self.runtime.clock.now())
        self._cas[stored.issuer_id] = (stored.sealed_key, ca)
        return ca

    async def load_ca(self, issuer_id: str) -> LocalCA:
        """The issuer's local CA, loaded (and cached) for signing."""
        async with self.runtime.db.uow() as uow:
            return await self._ca(uow, issuer_id)

    def leaf_urls(self, issuer_id: str) -> dict[str, str | None]:
        """The CRL, OCSP and CA certificate URLs the CA's leaves carry (when a public URL is set)."""
        return self._urls(issuer_id)

    async def _ca(self, uow: UnitOfWork, issuer_id: str) -> LocalCA:
        stored = await uow.pki.get_ca(issuer_id)
        if stored is None:
            raise NotFound("issuer_ca", issuer_id)
        return self._load(stored)

    def _urls(self, issuer_id: str) -> dict[str, str | None]:
        if not self.public_url:
            return {"crl_url": None, "ocsp_url": None, "ca_issuers_url": None}
        base = f"{self.public_url}/.well-known/pki"
        return {
            "crl_url": f"{base}/crl/{issuer_id}",
            "ocsp_url": f"{base}/ocsp/{issuer_id}",
            "ca_issuers_url": f"{base}/ca/{issuer_id}.cer",
        }

    # --- Revocation and CRL ------------------------------------------------------------

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
                self.invalidate_ocsp(revocation.issuer_id, revocation.serial_number)

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
                _, revocations = await self.certificates.revoke(caller, cert_id, reason=reason)
            except Conflict:  # already revoked or archived
                skipped += 1
                continue
            except CertctlError as exc:
                errors.append((cert_id, exc.detail))
                continue
            revoked += 1
            self._note(revocations, issuers)
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
        """Sign a new CRL with the next CRL number (taken atomically in the database)."""
        async with self.runtime.db.uow() as uow:
            ca = await self._ca(uow, issuer_id)
            revoked = await uow.pki.revoked_serials(issuer_id)
            number = await uow.pki.next_crl_number(issuer_id)
            now = self.runtime.clock.now()
            entries = [
                RevokedEntry(r.serial_number, r.revoked_at, parse_reason(r.reason))
                for r in revoked
                if r.not_before is None
                or r.not_after is None
                or r.not_after - r.not_before >= SHORT_LIVED
            ]
            next_update = now + CRL_VALIDITY
            der = await asyncio.to_thread(
                build_crl, ca, entries, crl_number=number, this_update=now, next_update=next_update
            )
            der_b64 = base64.b64encode(der).decode()
            etag = f'"{hashlib.sha256(der).hexdigest()[:32]}"'
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

    # --- OCSP --------------------------------------------------------------------------

    async def ocsp(self, issuer_id: str, request_der: bytes) -> bytes:
        """Answer one OCSP request; malformed requests get the malformedRequest status.

        A request without a nonce may get a pre-signed answer from the cache; one with a
        nonce is signed fresh, since the nonce must be echoed.
        """
        try:
            info = parse_request(request_der)
        except InvalidRequest:
            return malformed_response()
        now = self.runtime.clock.now()
        slot = (info.hash_algorithm, info.issuer_name_hash, info.issuer_key_hash)
        if info.nonce is None:
            cached = self._ocsp_cache.get((issuer_id, info.serial_hex), {}).get(slot)
            if cached is not None and cached.until > now:
                return cached.der
        async with self.runtime.db.uow() as uow:
            stored = await uow.pki.get_ca(issuer_id)
            if stored is None:
                return unauthorized_response()
            ca = self._load(stored)
            responder = await self._responder(uow, stored, ca)
            issued = await uow.pki.issued_serial(issuer_id, info.serial_hex)
        der = await asyncio.to_thread(self._answer, ca, responder, info, issued)
        if info.nonce is None and issued is not None:
            if len(self._ocsp_cache) >= OCSP_CACHE_SIZE:
                self._ocsp_cache.clear()
            entry = self._ocsp_cache.setdefault((issuer_id, info.serial_hex), {})
            entry[slot] = _Cached(der, now + OCSP_CACHE_TTL)
        return der

    def invalidate_ocsp(self, issuer_id: str, serial_hex: str) -> None:
        """Forget the cached answers about one certificate (after its revocation)."""
        self._ocsp_cache.pop((issuer_id, serial_hex.lower().lstrip("0") or "0"), None)

    def _answer(
        self,
        ca: LocalCA,
        responder: ResponderCert,
        info: OCSPRequestInfo,
        issued: IssuedSerial | None,
    ) -> bytes:
        now = self.runtime.clock.now()
        this_update, next_update = now, now + OCSP_VALIDITY
        status = CertStatus.UNKNOWN
        revoked_at = None
        reason = RevocationReason.UNSPECIFIED
        if issued is not None:
            status = CertStatus.GOOD
            short_lived = issued.not_after - issued.not_before < SHORT_LIVED
            if issued.revocation is not None and not short_lived:
                status = CertStatus.REVOKED
                revoked_at = issued.revocation.revoked_at
                reason = RevocationReason(issued.revocation.reason)
        return build_response(
            ca,
            responder,
            info,
            status,
            this_update=this_update,
            next_update=next_update,
            revoked_at=revoked_at,
            reason=reason,
        )

    async def _responder(self, uow: UnitOfWork, stored: StoredCA, ca: LocalCA) -> ResponderCert:
        now = self.runtime.clock.now()
        cached = self._responders.get(stored.issuer_id)
        responder = None
        if cached is not None and cached[0] == stored.responder_cert_pem:
            responder = cached[1]
        elif stored.responder_cert_pem and stored.responder_sealed_key:
            sealer = _require_sealer(self.runtime)
            responder = load_responder(
                stored.responder_cert_pem, sealer.open(stored.responder_sealed_key).decode()
            )
        if responder is None or needs_rotation(responder, now):
            sealer = _require_sealer(self.runtime)
            responder = await asyncio.to_thread(make_responder, ca, now)
            await uow.pki.set_responder(
                stored.issuer_id,
                responder.certificate_pem,
                sealer.seal(private_key_to_pem(responder.key).encode()),
            )
        self._responders[stored.issuer_id] = (responder.certificate_pem, responder)
        return responder
