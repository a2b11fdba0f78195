"""Read the facts certctl stores (CN, SANs, serial, validity, fingerprint) out of PEM input."""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from certctl.domain.certificates import CertificateFacts
from certctl.errors import InvalidRequest

_PEM_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)


# Errors cryptography raises while decoding a certificate's fields (it parses lazily).
_DECODE_ERRORS = (ValueError, TypeError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)


def split_pem_chain(pem: str, *, field: str = "pem") -> list[x509.Certificate]:
    """Parse every CERTIFICATE block of a PEM bundle, leaf first; raise naming the problem."""
    try:
        data = pem.encode()
    except UnicodeError as exc:
        raise InvalidRequest("PEM text is not valid Unicode", field=field) from exc
    if b"PRIVATE KEY-----" in data:
        raise InvalidRequest("PEM contains a private key; send only certificates", field=field)
    blocks = _PEM_BLOCK.findall(data)
    if not blocks:
        raise InvalidRequest("no PEM CERTIFICATE block found", field=field)
    certs = []
    for index, block in enumerate(blocks):
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except ValueError as exc:
            raise InvalidRequest(
                f"certificate #{index + 1} in the PEM does not parse: {exc}", field=field
            ) from exc
    return certs


def _common_name(cert: x509.Certificate) -> str:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else ""
    return value if isinstance(value, str) else value.decode(errors="replace")


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    names: list[str] = []
    names += ext.value.get_values_for_type(x509.DNSName)
    names += [str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)]
    names += ext.value.get_values_for_type(x509.RFC822Name)
    names += ext.value.get_values_for_type(x509.UniformResourceIdentifier)
    return tuple(names)


def _key_description(cert: x509.Certificate) -> tuple[str, int]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ECDSA", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return "unknown", 0


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def certificate_facts(cert: x509.Certificate) -> CertificateFacts:
    """Describe one parsed certificate in domain terms."""
    algorithm, size = _key_description(cert)
    return CertificateFacts(
        common_name=_common_name(cert),
        sans=_sans(cert),
        serial_number=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        subject_dn=cert.subject.rfc4514_string(),
        issuer_dn=cert.issuer.rfc4514_string(),
        key_algorithm=algorithm,
        key_size=size,
        is_ca=_is_ca(cert),
    )


def read_pem(pem: str, *, field: str = "pem") -> tuple[CertificateFacts, str]:
    """Return the leaf's facts and the normalised PEM chain (leaf first)."""
    certs = split_pem_chain(pem, field=field)
    chain = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)
    try:
        return certificate_facts(certs[0]), chain
    except _DECODE_ERRORS as exc:
        raise InvalidRequest(f"the certificate's fields do not decode: {exc}", field=field) from exc


def first_certificate_der(pem: str) -> bytes:
    """The first certificate of a PEM chain in DER (an AIA caIssuers answer, RFC 5280 4.2.2.1)."""
    return split_pem_chain(pem)[0].public_bytes(serialization.Encoding.DER)
