"""OCSP (RFC 6960): a dedicated responder certificate per CA, request parsing, signed answers.

The CA key never signs OCSP: a short-lived delegated responder certificate (RFC 6960
4.2.2.2) carries the OCSPSigning EKU and id-pkix-ocsp-nocheck, and signs every answer.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certctl.domain.revocation import RevocationReason
from certctl.errors import InvalidRequest
from certctl.pki.ca import CLOCK_SKEW, LocalCA
from certctl.pki.crl import reason_flag
from certctl.pki.csr import common_name
from certctl.pki.facts import split_pem_chain
from certctl.pki.keys import PrivateKey, generate_key, load_private_key, signing_hash

REQUEST_FIELD = "ocsp_request"
MAX_NONCE_BYTES = 32
"""RFC 8954 2.1: a nonce is 1 to 32 octets; longer ones are refused as malformed."""

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    h.name: h for h in (hashes.SHA1, hashes.SHA224, hashes.SHA256, hashes.SHA384, hashes.SHA512)
}
_DECODE_ERRORS = (ValueError, NotImplementedError, UnsupportedAlgorithm, x509.DuplicateExtension)


class CertStatus(enum.StrEnum):
    """What an OCSP answer says about one certificate."""

    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


_CERT_STATUS = {
    CertStatus.GOOD: ocsp.OCSPCertStatus.GOOD,
    CertStatus.REVOKED: ocsp.OCSPCertStatus.REVOKED,
    CertStatus.UNKNOWN: ocsp.OCSPCertStatus.UNKNOWN,
}


@dataclass(frozen=True)
class ResponderCert:
    """The delegated OCSP responder of one CA: its certificate and signing key."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def certificate_pem(self) -> str:
        """The responder certificate in PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class OCSPRequestInfo:
    """The one certificate an OCSP request asks about, and its nonce if any."""

    serial_hex: str
    issuer_key_hash: bytes
    issuer_name_hash: bytes
    hash_algorithm: str
    nonce: bytes | None = None


_RESPONDER_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def make_responder(
    ca: LocalCA, now: datetime, validity_days: int = 30, *, key_spec: str = "ECDSA-P256"
) -> ResponderCert:
    """Issue a fresh responder certificate and key, signed by the CA, within the CA's life."""
    key = generate_key(key_spec)
    ca_name = common_name(ca.certificate.subject) or "certctl CA"
    responder_name = f"{ca_name} OCSP Responder"[:64]  # RFC 5280: ub-common-name
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, responder_name)]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(
            min(now + timedelta(days=validity_days), ca.certificate.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_RESPONDER_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(ca.authority_key_identifier, critical=False)
    )
    return ResponderCert(certificate=builder.sign(ca.key, ca.signing_hash), key=key)


def load_responder(cert_pem: str, key_pem: str, *, password: str | None = None) -> ResponderCert:
    """Reload a stored responder certificate and key."""
    certificate = split_pem_chain(cert_pem, field="responder_certificate_pem")[0]
    key = load_private_key(key_pem, password=password, field="responder_private_key_pem")
    return ResponderCert(certificate=certificate, key=key)


def needs_rotation(responder: ResponderCert, now: datetime, margin_days: int = 7) -> bool:
    """True once the responder certificate is within `margin_days` of expiring."""
    return now >= responder.certificate.not_valid_after_utc - timedelta(days=margin_days)


def parse_request(der: bytes) -> OCSPRequestInfo:
    """Decode a DER OCSP request; anything malformed is refused naming `ocsp_request`."""
    try:
        request = ocsp.load_der_ocsp_request(der)
        return OCSPRequestInfo(
            serial_hex=_serial_hex(request),
            issuer_key_hash=request.issuer_key_hash,
            issuer_name_hash=request.issuer_name_hash,
            hash_algorithm=request.hash_algorithm.name,
            nonce=_nonce(request),
        )
    except _DECODE_ERRORS as exc:
        # cryptography knows SHA-1 and SHA-2 CertID hashes only; others land here too.
        raise InvalidRequest(f"malformed OCSP request: {exc}", field=REQUEST_FIELD) from exc


def _serial_hex(request: ocsp.OCSPRequest) -> str:
    if request.serial_number <= 0:  # RFC 5280 4.1.2.2: serials are positive
        raise ValueError(f"serial number {request.serial_number} is not positive")
    return format(request.serial_number, "x")


def _nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None
    if not 1 <= len(nonce) <= MAX_NONCE_BYTES:
        raise ValueError(f"nonce of {len(nonce)} bytes; RFC 8954 allows 1 to 32")
    return nonce


def matches_issuer(ca: LocalCA, info: OCSPRequestInfo) -> bool:
    """True when the request's CertID names this CA as the issuer."""
    name_hash, key_hash = _issuer_hashes(ca.certificate, info.hash_algorithm)
    return (info.issuer_name_hash, info.issuer_key_hash) == (name_hash, key_hash)


@functools.lru_cache(maxsize=64)
def _issuer_hashes(issuer: x509.Certificate, algorithm: str) -> tuple[bytes, bytes]:
    # RFC 6960 4.1.1: issuerNameHash is the hash of the issuing CA's *subject* DN (the
    # leaf's issuer field), not of the CA certificate's own issuer; the two differ for a
    # sub-CA. The request builder hashes `cert.issuer` and the issuer's key, so only its
    # key hash is taken from it.
    hash_type = _HASHES[algorithm]
    request = ocsp.OCSPRequestBuilder().add_certificate(issuer, issuer, hash_type()).build()
    digest = hashes.Hash(hash_type())
    digest.update(issuer.subject.public_bytes())
    return digest.finalize(), request.issuer_key_hash


def build_response(
    ca: LocalCA,
    responder: ResponderCert,
    request_info: OCSPRequestInfo,
    status: CertStatus,
    *,
    this_update: datetime,
    next_update: datetime,
    revoked_at: datetime | None = None,
    reason: RevocationReason = RevocationReason.UNSPECIFIED,
) -> bytes:
    """Sign a DER answer with the responder key; a request about another CA is unauthorized."""
    if not matches_issuer(ca, request_info):
        return unauthorized_response()
    revoked = status is CertStatus.REVOKED
    if revoked and revoked_at is None:
        raise InvalidRequest("a revoked answer needs the revocation time", field="revoked_at")
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=request_info.issuer_name_hash,
        issuer_key_hash=request_info.issuer_key_hash,
        serial_number=int(request_info.serial_hex, 16),
        algorithm=_HASHES[request_info.hash_algorithm](),
        cert_status=_CERT_STATUS[status],
        this_update=this_update,
        next_update=next_update,
        revocation_time=revoked_at if revoked else None,
        revocation_reason=reason_flag(reason) if revoked else None,
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder.certificate)
    builder = builder.certificates([responder.certificate])
    if request_info.nonce is not None:  # RFC 8954: echo the client's nonce
        builder = builder.add_extension(x509.OCSPNonce(request_info.nonce), critical=False)
    response = builder.sign(responder.key, signing_hash(responder.key))
    return response.public_bytes(serialization.Encoding.DER)


@functools.cache
def malformed_response() -> bytes:
    """The unsigned malformedRequest answer (RFC 6960 2.3)."""
    return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)


@functools.cache
def unauthorized_response() -> bytes:
    """The unsigned unauthorized answer, for a request about a CA this responder does not serve."""
    return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    response = ocsp.OCSPResponseBuilder.build_unsuccessful(status)
    return response.public_bytes(serialization.Encoding.DER)
