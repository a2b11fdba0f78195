"""Build DER certificate revocation lists signed by the local CA (C6, RFC 5280 section 5).

A CRL of 100,000 entries must build in about a second, so entries are made without the
fluent builders (each step copies the builder) and the whole list is handed to the CRL
builder at once (`add_revoked_certificate` copies the list on every call: quadratic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certctl.domain.crl_entry import MAX_SERIAL, serial_from_hex
from certctl.domain.revocation import RevocationReason
from certctl.errors import InvalidRequest
from certctl.pki.ca import LocalCA

_FLAGS = {
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.CA_COMPROMISE: x509.ReasonFlags.ca_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    RevocationReason.CERTIFICATE_HOLD: x509.ReasonFlags.certificate_hold,
    RevocationReason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
}
# RFC 5280 5.3.1: the reason code SHOULD be absent rather than "unspecified", so an
# unspecified entry carries no extension. One shared, never-mutated list per reason.
_ENTRY_EXTENSIONS: dict[RevocationReason, list[x509.Extension[x509.ExtensionType]]] = {
    reason: [x509.Extension(x509.CRLReason.oid, False, x509.CRLReason(flag))]
    for reason, flag in _FLAGS.items()
}
_NO_EXTENSIONS: list[x509.Extension[x509.ExtensionType]] = []


def reason_flag(reason: RevocationReason) -> x509.ReasonFlags | None:
    """The reason to encode in a CRL entry or OCSP answer; none for unspecified."""
    return _FLAGS.get(reason)


@dataclass(frozen=True, slots=True)
class RevokedEntry:
    """One revoked certificate of the issuing CA."""

    serial_hex: str
    revoked_at: datetime
    reason: RevocationReason = RevocationReason.UNSPECIFIED

    def __post_init__(self) -> None:
        serial_from_hex(self.serial_hex)
        if self.revoked_at.tzinfo is None:
            raise TypeError("revoked_at must be timezone-aware")


def build_crl(
    ca: LocalCA,
    entries: Sequence[RevokedEntry],
    *,
    crl_number: int,
    this_update: datetime,
    next_update: datetime,
) -> bytes:
    """Return the DER CRL listing `entries`, with CRL number and authority key identifier."""
    return sign_crl(
        ca,
        _revoked(entries),
        crl_number=crl_number,
        this_update=this_update,
        next_update=next_update,
    )


def sign_crl(
    ca: LocalCA,
    revoked: list[x509.RevokedCertificate],
    *,
    crl_number: int,
    this_update: datetime,
    next_update: datetime,
) -> bytes:
    """The DER CRL of already built entries, with CRL number and authority key identifier."""
    if not 0 <= crl_number < MAX_SERIAL:  # RFC 5280 5.2.3: at most 20 octets
        raise InvalidRequest("CRL number must be 0 to 2^159 - 1", field="crl_number")
    if next_update <= this_update:
        raise InvalidRequest("nextUpdate must be after thisUpdate", field="next_update")
    builder = (
        x509.CertificateRevocationListBuilder(revoked_certificates=revoked)
        .issuer_name(ca.certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(ca.authority_key_identifier, critical=False)
    )
    crl = builder.sign(ca.key, ca.signing_hash)
    return crl.public_bytes(serialization.Encoding.DER)


def _revoked(entries: Sequence[RevokedEntry]) -> list[x509.RevokedCertificate]:
    # The builder's constructor skips the per-step checks the entries already passed in
    # `RevokedEntry.__post_init__`; it converts aware datetimes to UTC itself.
    new = x509.RevokedCertificateBuilder
    extensions = _ENTRY_EXTENSIONS
    return [
        new(int(e.serial_hex, 16), e.revoked_at, extensions.get(e.reason, _NO_EXTENSIONS)).build()
        for e in entries
    ]
