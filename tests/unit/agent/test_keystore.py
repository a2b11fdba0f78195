"""The key directory: keys 0600 in a 0700 directory, found again by their certificate."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from certctl.agent.keystore import KeyMissing, KeyStore
from certctl.pki.keys import generate_key, load_private_key, private_key_to_pem

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def certificate_for(key_pem: str) -> str:
    """A self-signed certificate of the key."""
    key = load_private_key(key_pem)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "web.example.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_key_is_written_private(tmp_path: Path) -> None:
    """0700 directory, 0600 file named by certificate and job."""
    keys = KeyStore(tmp_path / "keys")
    path = keys.save("mc-1", "job-1", private_key_to_pem(generate_key("ECDSA-P256")))
    assert path.name == "mc-1.job-1.key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700


def test_the_key_of_the_deployed_version_is_found_after_a_renewal_key(tmp_path: Path) -> None:
    """Two keys for one certificate: the one matching the certificate is returned."""
    keys = KeyStore(tmp_path)
    old = private_key_to_pem(generate_key("ECDSA-P256"))
    new = private_key_to_pem(generate_key("ECDSA-P256"))
    keys.save("mc-1", "job-1", old)
    newer = keys.save("mc-1", "job-2", new)
    os.utime(newer, ns=(2**62, 2**62))
    assert keys.for_certificate("mc-1", certificate_for(old)) == old
    assert keys.for_certificate("mc-1", certificate_for(new)) == new


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    """KeyMissing names the certificate."""
    keys = KeyStore(tmp_path)
    keys.save("mc-1", "job-1", private_key_to_pem(generate_key("ECDSA-P256")))
    stranger = certificate_for(private_key_to_pem(generate_key("ECDSA-P256")))
    with pytest.raises(KeyMissing) as caught:
        keys.for_certificate("mc-1", stranger)
    assert str(caught.value) == "no private key in the key dir matches certificate 'mc-1'"


def test_ids_cannot_escape_the_key_directory(tmp_path: Path) -> None:
    """Path separators in ids become underscores."""
    keys = KeyStore(tmp_path / "keys")
    path = keys.save("../etc", "job/1", "x")
    assert path.parent == tmp_path / "keys"
    assert path.name == "___etc.job_1.key.pem"
