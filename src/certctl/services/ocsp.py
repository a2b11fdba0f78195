"""OCSP for the local CAs (RFC 6960): signed answers, a pre-signed cache, responder certs.

Each CA has a dedicated responder certificate (id-pkix-ocsp-nocheck), rotated before it
expires; the CA key never signs OCSP answers. The responder key is sealed at rest.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from certctl.db.uow import UnitOfWork
from certctl.domain.pki import IssuedSerial, StoredCA
from certctl.domain.revocation import RevocationReason
from certctl.errors import InvalidRequest
from certctl.pki.ca import LocalCA
from certctl.pki.csr import SHORT_LIVED_SECONDS
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
from certctl.services.pki import PkiService, require_sealer
from certctl.services.runtime import Runtime

OCSP_VALIDITY = timedelta(hours=24)
OCSP_CACHE_TTL = timedelta(minutes=5)
"""How long a signed answer to a nonce-less request is reused. A revocation invalidates the
answers of this process at once; another replica's cached answers age out within this time."""
OCSP_CACHE_SIZE = 100_000
SHORT_LIVED = timedelta(seconds=SHORT_LIVED_SECONDS)


@dataclass(frozen=True)
class _Cached:
    """A signed OCSP answer and until when it may be served again."""

    der: bytes
    until: datetime


class OcspService:
    """Answer OCSP requests about the local CAs' certificates."""

    def __init__(self, runtime: Runtime, pki: PkiService) -> None:
        self.runtime = runtime
        self.pki = pki
        self._responders: dict[str, tuple[str, ResponderCert]] = {}
        # (issuer id, serial) -> {CertID hashes -> (DER answer, reusable until)}
        self._ocsp_cache: dict[tuple[str, str], dict[tuple[str, bytes, bytes], _Cached]] = {}

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
            ca = self.pki.load(stored)
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
            sealer = require_sealer(self.runtime)
            responder = load_responder(
                stored.responder_cert_pem, sealer.open(stored.responder_sealed_key).decode()
            )
        if responder is None or needs_rotation(responder, now):
            sealer = require_sealer(self.runtime)
            responder = await asyncio.to_thread(make_responder, ca, now)
            await uow.pki.set_responder(
                stored.issuer_id,
                responder.certificate_pem,
                sealer.seal(private_key_to_pem(responder.key).encode()),
            )
        self._responders[stored.issuer_id] = (responder.certificate_pem, responder)
        return responder
