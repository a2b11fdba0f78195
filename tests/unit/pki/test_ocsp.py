"""OCSP: the delegated responder certificate, request parsing and signed answers."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certctl.domain.policies import CertificateProfile
from certctl.domain.revocation import RevocationReason
from certctl.errors import InvalidRequest
from certctl.pki.ca import LocalCA, create_root, load_sub_ca
from certctl.pki.issuance import IssuedCertificate, issue_leaf
from certctl.pki.keys import describe_public_key, private_key_to_pem
from certctl.pki.mint import make_ca, mint_sub_ca
from certctl.pki.ocsp import (
    CertStatus,
    OCSPRequestInfo,
    ResponderCert,
    build_response,
    load_responder,
    make_responder,
    malformed_response,
    matches_issuer,
    needs_rotation,
    parse_request,
    unauthorized_response,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EPOCH = str(int(NOW.timestamp()))
REVOKED_AT = datetime(2026, 6, 1, 10, tzinfo=UTC)
PROFILE = CertificateProfile(id="prof-web", name="web", created_at=NOW, updated_at=NOW)
MALFORMED = "malformed OCSP request: "
T = TypeVar("T", bound=x509.ExtensionType)


@pytest.fixture(scope="module", params=["ECDSA-P256", "RSA-2048"])
def ca(request: pytest.FixtureRequest) -> LocalCA:
    """An EC and an RSA root, each valid for a year."""
    return create_root(f"certctl {request.param} CA", request.param, now=NOW, validity_days=365)


@pytest.fixture(scope="module")
def responder(ca: LocalCA) -> ResponderCert:
    """The CA's responder, made at NOW."""
    return make_responder(ca, NOW)


@pytest.fixture(scope="module")
def leaf(ca: LocalCA) -> IssuedCertificate:
    """A TLS leaf of the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.example.com")]))
        .sign(key, hashes.SHA256())
    )
    return issue_leaf(
        ca, csr.public_bytes(serialization.Encoding.PEM).decode(), profile=PROFILE, now=NOW
    )


def _ext(cert: x509.Certificate, kind: type[T]) -> x509.Extension[T]:
    return cert.extensions.get_extension_for_class(kind)


def _openssl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def _request(tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate, *options: str) -> bytes:
    """`openssl ocsp -issuer ca.pem [options] -cert leaf.pem -reqout req.der`, as bytes."""
    (tmp_path / "ca.pem").write_text(ca.chain_pem)
    (tmp_path / "leaf.pem").write_text(leaf.pem)
    result = _openssl(
        tmp_path, "ocsp", "-issuer", "ca.pem", *options, "-cert", "leaf.pem", "-reqout", "req.der"
    )
    assert result.returncode == 0, result.stderr
    return (tmp_path / "req.der").read_bytes()


def _check(tmp_path: Path, response: bytes) -> subprocess.CompletedProcess[str]:
    """Let openssl verify `response` against req.der (nonce) and the CA at NOW."""
    (tmp_path / "resp.der").write_bytes(response)
    return _openssl(
        tmp_path,
        "ocsp",
        "-reqin",
        "req.der",
        "-respin",
        "resp.der",
        "-CAfile",
        "ca.pem",
        "-attime",
        EPOCH,
        "-resp_text",
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def _answer(
    ca: LocalCA,
    responder: ResponderCert,
    info: OCSPRequestInfo,
    status: CertStatus,
    **kwargs: object,
) -> bytes:
    return build_response(
        ca,
        responder,
        info,
        status,
        this_update=NOW,
        next_update=NOW + timedelta(hours=1),
        **kwargs,  # type: ignore[arg-type]
    )


# --- responder certificate ------------------------------------------------------------------


def test_responder_is_signed_by_the_ca(ca: LocalCA, responder: ResponderCert) -> None:
    """The responder certificate is issued and signed by the CA."""
    responder.certificate.verify_directly_issued_by(ca.certificate)
    assert responder.certificate.issuer == ca.certificate.subject


def test_responder_has_only_the_ocsp_signing_eku(responder: ResponderCert) -> None:
    """EKU is exactly id-kp-OCSPSigning (RFC 6960 4.2.2.2)."""
    assert list(_ext(responder.certificate, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.OCSP_SIGNING
    ]


def test_responder_carries_ocsp_nocheck(responder: ResponderCert) -> None:
    """id-pkix-ocsp-nocheck tells clients not to check the responder's own status."""
    ext = _ext(responder.certificate, x509.OCSPNoCheck)
    assert (ext.critical, ext.value) == (False, x509.OCSPNoCheck())


def test_responder_is_a_signing_only_end_entity(responder: ResponderCert) -> None:
    """BasicConstraints CA:FALSE and KeyUsage digitalSignature, both critical."""
    basic = _ext(responder.certificate, x509.BasicConstraints)
    usage = _ext(responder.certificate, x509.KeyUsage)
    assert (basic.critical, basic.value.ca, usage.critical, usage.value.digital_signature) == (
        True,
        False,
        True,
        True,
    )


def test_responder_identifies_its_key_and_its_ca(ca: LocalCA, responder: ResponderCert) -> None:
    """SKI hashes the responder key and AKI is the CA's SKI."""
    ski = _ext(responder.certificate, x509.SubjectKeyIdentifier).value
    aki = _ext(responder.certificate, x509.AuthorityKeyIdentifier).value
    assert (ski, aki) == (
        x509.SubjectKeyIdentifier.from_public_key(responder.key.public_key()),
        ca.authority_key_identifier,
    )


def test_responder_is_valid_for_thirty_days(responder: ResponderCert) -> None:
    """By default the responder lives from a minute before now to 30 days after."""
    assert (
        responder.certificate.not_valid_before_utc,
        responder.certificate.not_valid_after_utc,
    ) == (
        datetime(2026, 6, 1, 11, 59, tzinfo=UTC),
        datetime(2026, 7, 1, 12, tzinfo=UTC),
    )


def test_responder_validity_days_can_be_chosen(ca: LocalCA) -> None:
    """validity_days sets the responder's lifetime."""
    responder = make_responder(ca, NOW, validity_days=7)
    assert responder.certificate.not_valid_after_utc == NOW + timedelta(days=7)


def test_responder_never_outlives_the_ca() -> None:
    """A responder made near the CA's end expires with the CA."""
    short_ca = create_root("Short CA", now=NOW, validity_days=10)
    responder = make_responder(short_ca, NOW)
    assert responder.certificate.not_valid_after_utc == short_ca.certificate.not_valid_after_utc


def test_responder_key_is_its_own_p256_key(ca: LocalCA, responder: ResponderCert) -> None:
    """The responder signs with a fresh P-256 key, never the CA key."""
    assert (
        describe_public_key(responder.key.public_key()),
        responder.key.public_key() == ca.key.public_key(),
    ) == (
        ("ECDSA", 256),
        False,
    )


def test_responder_key_spec_can_be_chosen(ca: LocalCA) -> None:
    """key_spec picks the responder key algorithm."""
    responder = make_responder(ca, NOW, key_spec="Ed25519")
    assert describe_public_key(responder.key.public_key()) == ("Ed25519", 256)


@pytest.mark.parametrize(
    ("ca_name", "responder_name"),
    [
        ("Example CA", "Example CA OCSP Responder"),
        ("C" * 60, "C" * 60 + " OCS"),
    ],
)
def test_responder_name_follows_the_ca(ca_name: str, responder_name: str) -> None:
    """The responder CN is the CA's CN plus " OCSP Responder", cut at 64 characters."""
    responder = make_responder(create_root(ca_name, now=NOW), NOW)
    assert responder.certificate.subject == x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, responder_name)]
    )


def test_responder_name_for_a_ca_without_cn() -> None:
    """A CA subject without CN gives "certctl CA OCSP Responder"."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=100))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    responder = make_responder(LocalCA(certificate=cert, key=key), NOW)
    assert responder.certificate.subject.rfc4514_string() == "CN=certctl CA OCSP Responder"


@pytest.mark.parametrize(
    ("offset", "rotate"),
    [
        (timedelta(days=22, hours=23), False),
        (timedelta(days=23), True),
        (timedelta(days=31), True),
    ],
)
def test_needs_rotation_within_seven_days_of_expiry(
    responder: ResponderCert, offset: timedelta, rotate: bool
) -> None:
    """A 30-day responder needs rotation from 7 days before it expires."""
    assert needs_rotation(responder, NOW + offset) is rotate


def test_needs_rotation_margin_can_be_chosen(responder: ResponderCert) -> None:
    """margin_days widens the rotation window."""
    assert needs_rotation(responder, NOW + timedelta(days=15), margin_days=16) is True


def test_responder_reloads_from_pem(responder: ResponderCert) -> None:
    """A stored responder (certificate PEM, encrypted key) loads back unchanged."""
    key_pem = private_key_to_pem(responder.key, password="pw")
    loaded = load_responder(responder.certificate_pem, key_pem, password="pw")
    assert (loaded.certificate, private_key_to_pem(loaded.key)) == (
        responder.certificate,
        private_key_to_pem(responder.key),
    )


# --- parse_request --------------------------------------------------------------------------


def test_openssl_request_is_parsed(tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate) -> None:
    """Serial, SHA-1 CertID and nonce of `openssl ocsp -nonce` come out of the request."""
    info = parse_request(_request(tmp_path, ca, leaf, "-nonce"))
    shown = _lines(_openssl(tmp_path, "ocsp", "-reqin", "req.der", "-req_text").stdout)
    nonce_line = shown[shown.index("OCSP Nonce:") + 1]
    assert info.nonce is not None
    assert (info.serial_hex, info.hash_algorithm, matches_issuer(ca, info), nonce_line) == (
        leaf.serial_hex,
        "sha1",
        True,
        "0410" + info.nonce.hex().upper(),
    )


def test_request_without_nonce_has_none(
    tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate
) -> None:
    """`-no_nonce` gives a request without nonce."""
    assert parse_request(_request(tmp_path, ca, leaf, "-no_nonce")).nonce is None


def test_sha256_cert_id_is_parsed(tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate) -> None:
    """A SHA-256 CertID is recognised and still matches the CA."""
    info = parse_request(_request(tmp_path, ca, leaf, "-sha256"))
    assert (info.hash_algorithm, matches_issuer(ca, info)) == ("sha256", True)


def test_request_for_another_ca_does_not_match(
    tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate
) -> None:
    """The CertID hashes of one CA do not match another."""
    info = parse_request(_request(tmp_path, ca, leaf))
    assert matches_issuer(create_root("Other CA", now=NOW), info) is False


def test_garbage_request_is_refused() -> None:
    """Bytes that are not an OCSP request are refused on `ocsp_request`."""
    with pytest.raises(InvalidRequest) as caught:
        parse_request(b"\x30\x03\x02\x01\x01")
    assert (caught.value.field, caught.value.detail.startswith(MALFORMED)) == ("ocsp_request", True)


@pytest.mark.parametrize(
    ("options", "detail"),
    [
        (
            ("-issuer", "ca.pem", "-cert", "leaf.pem", "-cert", "ca.pem"),
            "OCSP request contains more than one request",
        ),
        (
            ("-issuer", "ca.pem", "-md5", "-cert", "leaf.pem"),
            "Signature algorithm OID: 1.2.840.113549.2.5 not recognized",
        ),
    ],
    ids=["two-certificates", "md5"],
)
def test_unsupported_openssl_requests_are_refused(
    tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate, options: tuple[str, ...], detail: str
) -> None:
    """Several CertIDs in one request, or an MD5 CertID, are refused as malformed."""
    (tmp_path / "ca.pem").write_text(ca.chain_pem)
    (tmp_path / "leaf.pem").write_text(leaf.pem)
    assert _openssl(tmp_path, "ocsp", *options, "-reqout", "req.der").returncode == 0
    with pytest.raises(InvalidRequest) as caught:
        parse_request((tmp_path / "req.der").read_bytes())
    assert caught.value.detail == MALFORMED + detail


def test_serial_zero_is_refused(tmp_path: Path, ca: LocalCA) -> None:
    """RFC 5280 serials are positive; a request for serial 0 is malformed."""
    (tmp_path / "ca.pem").write_text(ca.chain_pem)
    _openssl(tmp_path, "ocsp", "-issuer", "ca.pem", "-serial", "0", "-reqout", "req.der")
    with pytest.raises(InvalidRequest) as caught:
        parse_request((tmp_path / "req.der").read_bytes())
    assert caught.value.detail == MALFORMED + "serial number 0 is not positive"


@pytest.mark.parametrize("size", [0, 33])
def test_nonce_outside_1_to_32_bytes_is_refused(ca: LocalCA, size: int) -> None:
    """RFC 8954: an empty nonce or one over 32 bytes makes the request malformed."""
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(ca.certificate, ca.certificate, hashes.SHA1())
        .add_extension(x509.OCSPNonce(b"n" * size), critical=False)
        .build()
    )
    with pytest.raises(InvalidRequest) as caught:
        parse_request(request.public_bytes(serialization.Encoding.DER))
    assert caught.value.detail == MALFORMED + f"nonce of {size} bytes; RFC 8954 allows 1 to 32"


# --- build_response -------------------------------------------------------------------------


def test_openssl_validates_a_good_answer_with_the_nonce(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """openssl verifies a good answer's signature chain and the echoed nonce."""
    info = parse_request(_request(tmp_path, ca, leaf, "-nonce"))
    result = _check(tmp_path, _answer(ca, responder, info, CertStatus.GOOD))
    lines = _lines(result.stdout)
    assert (result.returncode, result.stderr) == (0, "Response verify OK\n")
    assert lines[lines.index("OCSP Nonce:") + 1] == "0410" + (info.nonce or b"").hex().upper()
    assert "Cert Status: good" in lines


def test_openssl_validates_a_revoked_answer(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """A revoked answer verifies and shows the revocation time and reason."""
    info = parse_request(_request(tmp_path, ca, leaf, "-nonce"))
    answer = _answer(
        ca,
        responder,
        info,
        CertStatus.REVOKED,
        revoked_at=REVOKED_AT,
        reason=RevocationReason.KEY_COMPROMISE,
    )
    result = _check(tmp_path, answer)
    lines = _lines(result.stdout)
    status_at = lines.index("Cert Status: revoked")
    assert (result.returncode, result.stderr) == (0, "Response verify OK\n")
    assert lines[status_at + 1 : status_at + 3] == [
        "Revocation Time: Jun  1 10:00:00 2026 GMT",
        "Revocation Reason: keyCompromise (0x1)",
    ]


def test_openssl_validates_an_unknown_answer(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """An unknown answer verifies and says unknown."""
    info = parse_request(_request(tmp_path, ca, leaf, "-nonce"))
    result = _check(tmp_path, _answer(ca, responder, info, CertStatus.UNKNOWN))
    assert (result.returncode, "Cert Status: unknown" in _lines(result.stdout)) == (0, True)


def test_openssl_validates_a_sha256_cert_id_answer(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """The answer echoes a SHA-256 CertID that openssl matches to its request."""
    info = parse_request(_request(tmp_path, ca, leaf, "-sha256"))
    result = _check(tmp_path, _answer(ca, responder, info, CertStatus.GOOD))
    assert (result.returncode, "Hash Algorithm: sha256" in _lines(result.stdout)) == (0, True)


def test_openssl_validates_an_ed25519_responder(
    tmp_path: Path, ca: LocalCA, leaf: IssuedCertificate
) -> None:
    """An Ed25519 responder signs without a digest and openssl accepts it."""
    responder = make_responder(ca, NOW, key_spec="Ed25519")
    info = parse_request(_request(tmp_path, ca, leaf, "-nonce"))
    result = _check(tmp_path, _answer(ca, responder, info, CertStatus.GOOD))
    assert (result.returncode, result.stderr) == (0, "Response verify OK\n")


def test_answer_is_signed_by_the_responder_not_the_ca(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """The responder ID is the responder's key hash and its certificate is included."""
    info = parse_request(_request(tmp_path, ca, leaf))
    answer = ocsp.load_der_ocsp_response(_answer(ca, responder, info, CertStatus.GOOD))
    ski = _ext(responder.certificate, x509.SubjectKeyIdentifier).value.digest
    assert (answer.responder_key_hash, answer.responder_name, answer.certificates) == (
        ski,
        None,
        [responder.certificate],
    )


def test_answer_times_are_as_given(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """thisUpdate and nextUpdate are the given instants."""
    info = parse_request(_request(tmp_path, ca, leaf))
    answer = ocsp.load_der_ocsp_response(_answer(ca, responder, info, CertStatus.GOOD))
    assert (answer.this_update_utc, answer.next_update_utc) == (NOW, NOW + timedelta(hours=1))


def test_answer_without_request_nonce_has_no_extensions(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """No nonce in the request, no nonce in the answer."""
    info = parse_request(_request(tmp_path, ca, leaf, "-no_nonce"))
    answer = ocsp.load_der_ocsp_response(_answer(ca, responder, info, CertStatus.GOOD))
    assert len(answer.extensions) == 0


def test_revoked_unspecified_answer_has_no_reason(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """An unspecified reason is left out, as in the CRL."""
    info = parse_request(_request(tmp_path, ca, leaf))
    answer = ocsp.load_der_ocsp_response(
        _answer(ca, responder, info, CertStatus.REVOKED, revoked_at=REVOKED_AT)
    )
    assert (answer.certificate_status, answer.revocation_time_utc, answer.revocation_reason) == (
        ocsp.OCSPCertStatus.REVOKED,
        REVOKED_AT,
        None,
    )


def test_good_answer_ignores_a_revocation_time(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """A revocation time passed with a good status is not encoded."""
    info = parse_request(_request(tmp_path, ca, leaf))
    answer = ocsp.load_der_ocsp_response(
        _answer(ca, responder, info, CertStatus.GOOD, revoked_at=REVOKED_AT)
    )
    assert (answer.certificate_status, answer.revocation_time_utc) == (
        ocsp.OCSPCertStatus.GOOD,
        None,
    )


def test_revoked_answer_needs_a_revocation_time(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """A revoked status without revoked_at is refused on `revoked_at`."""
    info = parse_request(_request(tmp_path, ca, leaf))
    with pytest.raises(InvalidRequest) as caught:
        _answer(ca, responder, info, CertStatus.REVOKED)
    assert (caught.value.field, caught.value.detail) == (
        "revoked_at",
        "a revoked answer needs the revocation time",
    )


def test_request_about_another_ca_is_unauthorized(
    tmp_path: Path, ca: LocalCA, responder: ResponderCert, leaf: IssuedCertificate
) -> None:
    """A CertID naming another issuer gets the unsigned unauthorized answer."""
    other = make_ca("Other CA", NOW)
    info = parse_request(_request(tmp_path, ca, leaf))
    foreign = replace(
        info,
        issuer_key_hash=x509.SubjectKeyIdentifier.from_public_key(other.key.public_key()).digest,
    )
    assert _answer(ca, responder, foreign, CertStatus.GOOD) == unauthorized_response()


@pytest.mark.parametrize(
    ("make", "status", "shown"),
    [
        (malformed_response, ocsp.OCSPResponseStatus.MALFORMED_REQUEST, "malformedrequest (1)"),
        (unauthorized_response, ocsp.OCSPResponseStatus.UNAUTHORIZED, "unauthorized (6)"),
    ],
)
def test_unsuccessful_answers_are_understood_by_openssl(
    tmp_path: Path, make: Callable[[], bytes], status: ocsp.OCSPResponseStatus, shown: str
) -> None:
    """malformedRequest and unauthorized answers carry their status, as openssl reports."""
    der = make()
    (tmp_path / "resp.der").write_bytes(der)
    result = _openssl(tmp_path, "ocsp", "-respin", "resp.der")
    assert (ocsp.load_der_ocsp_response(der).response_status, result.stdout) == (
        status,
        f"Responder Error: {shown}\n",
    )


def test_certid_of_a_sub_ca_leaf_hashes_the_sub_ca_subject() -> None:
    """RFC 6960 4.1.1: a CertID over the sub-CA's subject matches; one over its issuer does not."""
    root = create_root("certctl OCSP Root", now=NOW, validity_days=365)
    chain_pem, key_pem = mint_sub_ca(root, "certctl OCSP Sub-CA", NOW)
    sub = load_sub_ca(chain_pem, key_pem, NOW)
    leaf = x509.load_pem_x509_certificate(
        issue_leaf(sub, _leaf_csr(), profile=PROFILE, now=NOW).pem.encode()
    )
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, sub.certificate, hashes.SHA1())
    info = parse_request(request.build().public_bytes(serialization.Encoding.DER))
    wrong = ocsp.OCSPRequestBuilder().add_certificate(
        sub.certificate, sub.certificate, hashes.SHA1()
    )
    wrong_info = parse_request(wrong.build().public_bytes(serialization.Encoding.DER))
    assert (matches_issuer(sub, info), matches_issuer(sub, wrong_info)) == (True, False)


def _leaf_csr() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sub.example.com")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("sub.example.com")]), False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()
