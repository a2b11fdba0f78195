"""Local CA records: stored CA material, revocations and the published CRL (C5, C6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StoredCA:
    """A local CA as persisted: its chain, its sealed key and its OCSP responder."""

    issuer_id: str
    ca_chain_pem: str
    sealed_key: str
    created_at: datetime
    responder_cert_pem: str | None = None
    responder_sealed_key: str | None = None


@dataclass(frozen=True)
class Revocation:
    """One revoked certificate serial; `issuer_id` is None for certificates of unknown CAs."""

    id: str
    certificate_id: str
    issuer_id: str | None
    serial_number: str
    reason: str
    revoked_by: str
    revoked_at: datetime
    issuer_notified: bool = False


@dataclass(frozen=True)
class IssuedSerial:
    """A serial issued by a CA, as OCSP needs it: its validity and revocation if any."""

    serial_number: str
    not_before: datetime
    not_after: datetime
    revocation: Revocation | None = None


@dataclass(frozen=True)
class CRLState:
    """The latest CRL of one CA; `der_b64` is None until the first generation."""

    issuer_id: str
    crl_number: int
    der_b64: str | None = None
    this_update: datetime | None = None
    next_update: datetime | None = None
    etag: str | None = None
