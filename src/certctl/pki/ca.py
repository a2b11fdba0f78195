"""The local certificate authority: a self-signed root or a sub-CA loaded from PEM (C5)."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from certctl.errors import InvalidRequest
from certctl.pki.facts import split_pem_chain
from certctl.pki.keys import (
    PrivateKey,
    SigningHash,
    generate_key,
    load_private_key,
    signing_hash,
)

CLOCK_SKEW = timedelta(minutes=1)
"""How far before `now` certificates start, so clients with a slow clock accept them."""

CERT_FIELD = "ca_certificate_pem"
KEY_FIELD = "ca_private_key_pem"

# Errors cryptography raises while decoding a certificate's extensions (it parses lazily).
_DECODE_ERRORS = (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)


@dataclass(frozen=True)
class LocalCA:
    """A CA certificate, its private key and the certificates above it (nearest first)."""

    certificate: x509.Certificate
    key: PrivateKey
    parents: tuple[x509.Certificate, ...] = ()

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The CA certificate followed by its parents, up to the root when known."""
        return (self.certificate, *self.parents)

    @property
    def certificate_pem(self) -> str:
        """The CA certificate alone in PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @functools.cached_property
    def chain_pem(self) -> str:
        """The CA certificate and its parents in PEM, CA first."""
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.chain)

    @property
    def signing_hash(self) -> SigningHash:
        """The digest the CA signs with (none for Ed25519)."""
        return signing_hash(self.key)

    @functools.cached_property
    def authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        """AKI for what this CA signs: its own SKI when present (RFC 5280 4.2.1.1)."""
        try:
            ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def create_root(
    common_name: str,
    key_spec: str = "ECDSA-P256",
    *,
    now: datetime,
    validity_days: int = 3650,
) -> LocalCA:
    """Create a self-signed root able to sign certificates and CRLs."""
    if not 1 <= len(common_name) <= 64:  # RFC 5280 appendix A: ub-common-name
        raise InvalidRequest("common name must be 1 to 64 characters", field="common_name")
    if validity_days < 1:
        raise InvalidRequest("validity must be at least one day", field="validity_days")
    key = generate_key(key_spec)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return LocalCA(certificate=builder.sign(key, signing_hash(key)), key=key)


def load_sub_ca(
    cert_pem: str, key_pem: str, now: datetime, *, password: str | None = None
) -> LocalCA:
    """Load an existing CA (certificate bundle, CA first, and its key), refusing unusable ones."""
    certs = split_pem_chain(cert_pem, field=CERT_FIELD)
    key = load_private_key(key_pem, password=password, field=KEY_FIELD)
    try:
        _check_ca_certificate(certs[0], now)
    except _DECODE_ERRORS as exc:
        raise InvalidRequest(
            f"the CA certificate's extensions do not decode: {exc}", field=CERT_FIELD
        ) from exc
    if certs[0].public_key() != key.public_key():
        raise InvalidRequest("the private key does not match the CA certificate", field=KEY_FIELD)
    _check_links(certs)
    return LocalCA(certificate=certs[0], key=key, parents=tuple(certs[1:]))


def _check_ca_certificate(cert: x509.Certificate, now: datetime) -> None:
    if not _is_ca(cert):
        raise InvalidRequest(
            "the certificate is not a CA: BasicConstraints CA:TRUE is missing", field=CERT_FIELD
        )
    usage = _key_usage(cert)
    if usage is None or not usage.key_cert_sign:
        raise InvalidRequest("the CA certificate's KeyUsage lacks keyCertSign", field=CERT_FIELD)
    if not usage.crl_sign:
        raise InvalidRequest(
            "the CA certificate's KeyUsage lacks cRLSign: its CRLs would be rejected",
            field=CERT_FIELD,
        )
    _check_validity(cert, now)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _check_validity(cert: x509.Certificate, now: datetime) -> None:
    if now < cert.not_valid_before_utc:
        raise InvalidRequest(
            f"the CA certificate is not valid before {cert.not_valid_before_utc.isoformat()}",
            field=CERT_FIELD,
        )
    if now > cert.not_valid_after_utc:
        raise InvalidRequest(
            f"the CA certificate expired on {cert.not_valid_after_utc.isoformat()}",
            field=CERT_FIELD,
        )


def _check_links(certs: list[x509.Certificate]) -> None:
    for index, (child, parent) in enumerate(itertools.pairwise(certs)):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise InvalidRequest(
                f"certificate #{index + 1} of the bundle is not signed by certificate "
                f"#{index + 2}: {exc}",
                field=CERT_FIELD,
            ) from exc
