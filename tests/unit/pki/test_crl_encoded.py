"""CRLs signed around stored entry DER equal the X.509 builder's CRL of the same entries."""

from __future__ import annotations

import random
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from certctl.domain.crl_entry import crl_entry_der
from certctl.domain.revocation import RevocationReason
from certctl.errors import InvalidRequest
from certctl.pki.ca import LocalCA, create_root
from certctl.pki.crl import RevokedEntry, build_crl
from certctl.pki.crl_encoded import sign_encoded_crl

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TIMES = {"crl_number": 7, "this_update": NOW, "next_update": NOW + timedelta(hours=24)}


def _entries(count: int) -> list[RevokedEntry]:
    """Entries of every reason, serial sizes from 1 bit to 159, times from 1950 to 2080."""
    rand = random.Random(20261205)
    reasons = list(RevocationReason)
    entries = []
    for i in range(count):
        serial = rand.getrandbits(rand.choice((1, 7, 8, 64, 128, 159))) or 1
        start = datetime(1950, 1, 1, tzinfo=UTC) if i % 9 == 0 else NOW - timedelta(days=900)
        at = start + timedelta(seconds=rand.randrange(10**9), microseconds=rand.randrange(10**6))
        entries.append(RevokedEntry(format(serial, "x"), at, reasons[i % len(reasons)]))
    return entries


def _stored(entries: list[RevokedEntry]) -> bytes:
    return b"".join(crl_entry_der(e.serial_hex, e.revoked_at, e.reason.value) for e in entries)


@pytest.fixture(scope="module", params=["RSA-2048", "Ed25519", "ECDSA-P256", "ECDSA-P384"])
def ca(request: pytest.FixtureRequest) -> LocalCA:
    """A root of each key type certctl signs with."""
    return create_root(f"certctl {request.param} CA", request.param, now=NOW)


def test_stored_entries_sign_the_builders_crl_byte_for_byte(ca: LocalCA) -> None:
    """Same TBSCertList as build_crl; the same bytes when the signature is deterministic."""
    entries = _entries(600)
    ours = sign_encoded_crl(ca, _stored(entries), **TIMES)  # type: ignore[arg-type]
    reference = build_crl(ca, entries, **TIMES)  # type: ignore[arg-type]
    crl, expected = x509.load_der_x509_crl(ours), x509.load_der_x509_crl(reference)
    assert crl.tbs_certlist_bytes == expected.tbs_certlist_bytes
    assert crl.is_signature_valid(ca.key.public_key())
    if not isinstance(ca.key, ec.EllipticCurvePrivateKey):  # ECDSA signatures are random
        assert ours == reference  # PKCS#1 v1.5 and Ed25519 signatures are deterministic
    assert [r.serial_number for r in crl] == [int(e.serial_hex, 16) for e in entries]


def test_no_entries_is_the_builders_empty_crl(ca: LocalCA) -> None:
    """Without entries there is no revokedCertificates field, as build_crl leaves it out."""
    ours = x509.load_der_x509_crl(sign_encoded_crl(ca, b"", **TIMES))  # type: ignore[arg-type]
    reference = x509.load_der_x509_crl(build_crl(ca, [], **TIMES))  # type: ignore[arg-type]
    assert ours.tbs_certlist_bytes == reference.tbs_certlist_bytes
    assert len(ours) == 0


def test_number_and_times_are_checked_as_build_crl_checks_them(ca: LocalCA) -> None:
    """A nextUpdate not after thisUpdate is refused naming next_update."""
    with pytest.raises(InvalidRequest) as caught:
        sign_encoded_crl(ca, b"", crl_number=1, this_update=NOW, next_update=NOW)
    assert caught.value.field == "next_update"


def test_openssl_reads_the_crl_with_its_entries_and_reasons(tmp_path: Path) -> None:
    """`openssl crl -text` verifies the signature and shows each serial and reason code."""
    ca = create_root("certctl openssl CA", "ECDSA-P256", now=NOW)
    entries = [
        RevokedEntry("0a1b", NOW - timedelta(hours=2), RevocationReason.KEY_COMPROMISE),
        RevokedEntry("80ff", NOW - timedelta(hours=1), RevocationReason.UNSPECIFIED),
    ]
    (tmp_path / "crl.der").write_bytes(sign_encoded_crl(ca, _stored(entries), **TIMES))  # type: ignore[arg-type]
    (tmp_path / "ca.pem").write_text(ca.certificate_pem)
    shown = subprocess.run(
        ["openssl", "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout", "-text"],
        cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert "verify OK" in shown.stderr + shown.stdout
    assert shown.stdout.count("Serial Number: ") == 2
    assert "Serial Number: 0A1B" in shown.stdout
    assert "Serial Number: 80FF" in shown.stdout
    assert shown.stdout.count("Key Compromise") == 1
    assert "X509v3 CRL Number: \n                7" in shown.stdout
