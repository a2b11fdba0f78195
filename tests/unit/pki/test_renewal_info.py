"""The ARI certID read out of a certificate (RFC 9773 section 4.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certctl.errors import InvalidRequest
from certctl.pki.renewal_info import certificate_ari_id

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
RFC_AKI = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")


def _pem(aki: x509.AuthorityKeyIdentifier | None, serial: int = 0x87654321) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ari.example.com")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=90))
    )
    if aki is not None:
        builder = builder.add_extension(aki, critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_the_cert_id_of_the_rfc_example() -> None:
    """A certificate with the RFC's AKI key id and serial has the RFC's certID."""
    aki = x509.AuthorityKeyIdentifier(RFC_AKI, None, None)
    assert certificate_ari_id(_pem(aki)) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"


def test_a_certificate_without_aki_is_refused() -> None:
    """No AKI extension: no certID, and the error says why."""
    with pytest.raises(InvalidRequest, match="no Authority Key Identifier"):
        certificate_ari_id(_pem(None))


def test_an_aki_without_key_identifier_is_refused() -> None:
    """An AKI naming the issuer by name and serial only has no key id to encode."""
    aki = x509.AuthorityKeyIdentifier(
        None, [x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]))], 7
    )
    with pytest.raises(InvalidRequest, match="key id"):
        certificate_ari_id(_pem(aki))
