"""Schemas of CSR issuance, revocation and the JSON CRL."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from certctl.api.schemas.certificates import CertificateOut, VersionOut
from certctl.api.schemas.common import In, Out

MAX_TTL_SECONDS = 100 * 365 * 86400


class CSRIn(In):
    """An operator-submitted certificate signing request."""

    csr_pem: str = Field(min_length=1, max_length=65536)
    ttl_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TTL_SECONDS,
        description="Requested validity; capped by the profile and issuer.",
    )


class IssuedOut(Out):
    """The certificate after issuance and its new version."""

    certificate: CertificateOut
    version: VersionOut


class RevokeIn(In):
    """Why the certificate is revoked (RFC 5280 reason name; empty = unspecified)."""

    reason: str = Field(default="", max_length=64)


class CRLEntryOut(Out):
    """One revoked serial."""

    serial_number: str
    revocation_date: datetime
    revocation_reason: str
    certificate_id: str
    issuer_id: str | None


class CRLOut(Out):
    """Every revoked serial certctl knows of."""

    version: int
    entries: list[CRLEntryOut]
    total: int
    generated_at: datetime
