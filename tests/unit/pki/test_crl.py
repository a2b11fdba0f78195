"""Building DER CRLs signed by the local CA and checking them with openssl."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certctl.domain.crl_entry import serial_from_hex
from certctl.domain.policies import CertificateProfile
from certctl.domain.revocation import RevocationReason
from certctl.errors import InvalidRequest
from certctl.pki.ca import LocalCA, create_root
from certctl.pki.crl import RevokedEntry, build_crl, reason_flag
from certctl.pki.issuance import IssuedCertificate, issue_leaf

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EPOCH = str(int(NOW.timestamp()))
REVOKED_AT = datetime(2026, 6, 1, 10, tzinfo=UTC)
PROFILE = CertificateProfile(id="prof-web", name="web", created_at=NOW, updated_at=NOW)


@pytest.fixture(scope="module", params=["ECDSA-P256", "RSA-2048"])
def ca(request: pytest.FixtureRequest) -> LocalCA:
    """An EC and an RSA root."""
    return create_root(f"certctl {request.param} CA", request.param, now=NOW)


@pytest.fixture(scope="module")
def leaf(ca: LocalCA) -> IssuedCertificate:
    """A TLS leaf of the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "api.example.com")]))
        .sign(key, hashes.SHA256())
    )
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    return issue_leaf(ca, pem, profile=PROFILE, now=NOW)


def _crl(ca: LocalCA, *entries: RevokedEntry, number: int = 42) -> bytes:
    return build_crl(
        ca, entries, crl_number=number, this_update=NOW, next_update=NOW + timedelta(hours=24)
    )


def _openssl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def _write(tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate, crl_der: bytes) -> None:
    (tmp_path / "ca.pem").write_text(ca.chain_pem)
    (tmp_path / "leaf.pem").write_text(leaf.pem)
    (tmp_path / "crl.der").write_bytes(crl_der)
    pem = x509.load_der_x509_crl(crl_der).public_bytes(serialization.Encoding.PEM)
    (tmp_path / "crl.pem").write_bytes(pem)


def _verify_with_crl(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    crl_check = ("-crl_check", "-CRLfile", "crl.pem")
    return _openssl(
        tmp_path, "verify", "-attime", EPOCH, *crl_check, "-CAfile", "ca.pem", "leaf.pem"
    )


# --- openssl --------------------------------------------------------------------------------


def test_openssl_verify_reports_a_revoked_leaf(
    tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate
) -> None:
    """`openssl verify -crl_check` fails with "certificate revoked" once the leaf is listed."""
    entry = RevokedEntry(leaf.serial_hex, REVOKED_AT, RevocationReason.KEY_COMPROMISE)
    _write(tmp_path, ca, leaf, _crl(ca, entry))
    result = _verify_with_crl(tmp_path)
    assert (result.returncode, result.stderr) == (
        2,
        "CN = api.example.com\nerror 23 at 0 depth lookup: certificate revoked\n"
        "error leaf.pem: verification failed\n",
    )


def test_openssl_verify_passes_a_leaf_not_listed(
    tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate
) -> None:
    """A leaf absent from the CRL still verifies with `-crl_check`."""
    _write(tmp_path, ca, leaf, _crl(ca, RevokedEntry("abcdef", REVOKED_AT)))
    result = _verify_with_crl(tmp_path)
    assert (result.returncode, result.stdout) == (0, "leaf.pem: OK\n")


def test_openssl_crl_accepts_and_shows_serial_reason_and_number(
    tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate
) -> None:
    """`openssl crl -inform DER -CAfile` verifies the signature and shows number, serial, reason."""
    entry = RevokedEntry(leaf.serial_hex, REVOKED_AT, RevocationReason.SUPERSEDED)
    _write(tmp_path, ca, leaf, _crl(ca, entry, number=42))
    result = _openssl(
        tmp_path, "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout", "-text"
    )
    lines = [line.strip() for line in result.stdout.splitlines()]
    number_at = lines.index("X509v3 CRL Number:")
    leaf_serial = _openssl(tmp_path, "x509", "-in", "leaf.pem", "-noout", "-serial").stdout
    serial_at = lines.index(f"Serial Number: {leaf_serial.strip().removeprefix('serial=')}")
    assert (result.returncode, result.stderr) == (0, "verify OK\n")
    assert lines[number_at + 1] == "42"
    assert lines[serial_at + 1 : serial_at + 5] == [
        "Revocation Date: Jun  1 10:00:00 2026 GMT",
        "CRL entry extensions:",
        "X509v3 CRL Reason Code:",
        "Superseded",
    ]


# --- content --------------------------------------------------------------------------------


def test_crl_is_signed_by_the_ca(ca: LocalCA) -> None:
    """The CRL's issuer is the CA and the CA's key verifies its signature."""
    crl = x509.load_der_x509_crl(_crl(ca))
    assert (crl.issuer, crl.is_signature_valid(ca.key.public_key())) == (
        ca.certificate.subject,
        True,
    )


def test_crl_carries_number_and_authority_key_identifier(ca: LocalCA) -> None:
    """CRL Number and AKI (the CA's SKI) are present and non-critical."""
    crl = x509.load_der_x509_crl(_crl(ca, number=7))
    number = crl.extensions.get_extension_for_class(x509.CRLNumber)
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert (number.critical, number.value.crl_number, aki.critical, aki.value) == (
        False,
        7,
        False,
        ca.authority_key_identifier,
    )


def test_crl_update_times_are_as_given(ca: LocalCA) -> None:
    """thisUpdate and nextUpdate are the given instants."""
    crl = x509.load_der_x509_crl(_crl(ca))
    assert (crl.last_update_utc, crl.next_update_utc) == (NOW, NOW + timedelta(hours=24))


def test_empty_crl_lists_nothing(ca: LocalCA) -> None:
    """With no entries the CRL is valid and empty."""
    assert len(x509.load_der_x509_crl(_crl(ca))) == 0


def test_entries_keep_serial_and_revocation_time(ca: LocalCA) -> None:
    """Each entry lists its serial and revocation time, converted to UTC."""
    plus_two = timezone(timedelta(hours=2))
    entries = [
        RevokedEntry("1f", REVOKED_AT),
        RevokedEntry("ABC123", datetime(2026, 6, 1, 13, tzinfo=plus_two)),
    ]
    crl = x509.load_der_x509_crl(_crl(ca, *entries))
    assert [(r.serial_number, r.revocation_date_utc) for r in crl] == [
        (0x1F, REVOKED_AT),
        (0xABC123, datetime(2026, 6, 1, 11, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("reason", "flag"),
    [
        (RevocationReason.KEY_COMPROMISE, x509.ReasonFlags.key_compromise),
        (RevocationReason.CA_COMPROMISE, x509.ReasonFlags.ca_compromise),
        (RevocationReason.AFFILIATION_CHANGED, x509.ReasonFlags.affiliation_changed),
        (RevocationReason.SUPERSEDED, x509.ReasonFlags.superseded),
        (RevocationReason.CESSATION_OF_OPERATION, x509.ReasonFlags.cessation_of_operation),
        (RevocationReason.CERTIFICATE_HOLD, x509.ReasonFlags.certificate_hold),
        (RevocationReason.PRIVILEGE_WITHDRAWN, x509.ReasonFlags.privilege_withdrawn),
    ],
)
def test_entry_carries_its_reason_code(
    ca: LocalCA, reason: RevocationReason, flag: x509.ReasonFlags
) -> None:
    """Every reason but unspecified is a non-critical CRL Reason entry extension."""
    (revoked,) = x509.load_der_x509_crl(_crl(ca, RevokedEntry("01", REVOKED_AT, reason)))
    ext = revoked.extensions.get_extension_for_class(x509.CRLReason)
    assert (ext.critical, ext.value.reason) == (False, flag)


def test_unspecified_entry_has_no_reason_extension(ca: LocalCA) -> None:
    """RFC 5280 5.3.1: the reason code is left out rather than sent as unspecified."""
    (revoked,) = x509.load_der_x509_crl(_crl(ca, RevokedEntry("01", REVOKED_AT)))
    assert len(revoked.extensions) == 0


def test_reason_flag_of_unspecified_is_none() -> None:
    """Unspecified maps to no reason at all."""
    assert reason_flag(RevocationReason.UNSPECIFIED) is None


def test_thousand_entries_are_all_listed(ca: LocalCA) -> None:
    """A large list is passed through in order, every serial present."""
    entries = [RevokedEntry(format(n, "x"), REVOKED_AT) for n in range(1, 1001)]
    crl = x509.load_der_x509_crl(_crl(ca, *entries))
    assert [r.serial_number for r in crl] == list(range(1, 1001))


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [-1, 2**159])
def test_crl_number_must_fit_20_octets(ca: LocalCA, number: int) -> None:
    """A negative or over-long CRL number is refused on `crl_number`."""
    with pytest.raises(InvalidRequest) as caught:
        _crl(ca, number=number)
    assert (caught.value.field, caught.value.detail) == (
        "crl_number",
        "CRL number must be 0 to 2^159 - 1",
    )


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(hours=-1)])
def test_next_update_must_follow_this_update(ca: LocalCA, delta: timedelta) -> None:
    """nextUpdate at or before thisUpdate is refused on `next_update`."""
    with pytest.raises(InvalidRequest) as caught:
        build_crl(ca, [], crl_number=1, this_update=NOW, next_update=NOW + delta)
    assert (caught.value.field, caught.value.detail) == (
        "next_update",
        "nextUpdate must be after thisUpdate",
    )


@pytest.mark.parametrize(
    ("serial_hex", "detail"),
    [
        ("xyz", "serial 'xyz' is not hexadecimal"),
        ("", "serial '' is not hexadecimal"),
        ("0", "serial '0' is not a positive number of at most 159 bits"),
        ("-1", "serial '-1' is not a positive number of at most 159 bits"),
        ("8" + "0" * 39, f"serial '{'8' + '0' * 39}' is not a positive number of at most 159 bits"),
    ],
)
def test_entry_serial_must_be_positive_hex_of_159_bits(serial_hex: str, detail: str) -> None:
    """A serial that is not hex, not positive or too long is refused on `serial_hex`."""
    with pytest.raises(InvalidRequest) as caught:
        RevokedEntry(serial_hex, REVOKED_AT)
    assert (caught.value.field, caught.value.detail) == ("serial_hex", detail)


def test_largest_serial_is_accepted() -> None:
    """2^159 - 1 is the largest serial RFC 5280 allows."""
    assert serial_from_hex("7" + "f" * 39) == 2**159 - 1


def test_serial_error_names_the_given_field() -> None:
    """Callers parsing serials from other inputs name their own field."""
    with pytest.raises(InvalidRequest) as caught:
        serial_from_hex("zz", field="serial_number")
    assert caught.value.field == "serial_number"


def test_entry_needs_an_aware_revocation_time() -> None:
    """A naive revocation time is a TypeError."""
    with pytest.raises(TypeError) as caught:
        RevokedEntry("01", datetime(2026, 6, 1, 10))
    assert str(caught.value) == "revoked_at must be timezone-aware"
