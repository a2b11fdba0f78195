"""Issuing leaf certificates from CSRs with the local CA, shaped by the profile."""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from certctl.domain.policies import CertificateProfile
from certctl.errors import CAUnavailable, InvalidRequest, PolicyViolation
from certctl.pki.ca import LocalCA, create_root, load_sub_ca
from certctl.pki.csr import CSRFacts, parse_csr
from certctl.pki.issuance import IssuedCertificate, issue_leaf
from certctl.pki.keys import PrivateKey, generate_key, private_key_to_pem

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EPOCH = str(int(NOW.timestamp()))
DAY = 86400
PROFILE = CertificateProfile(id="prof-web", name="web", created_at=NOW, updated_at=NOW)
T = TypeVar("T", bound=x509.ExtensionType)


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    """One P-256 root for the module."""
    return create_root("certctl Issuing CA", now=NOW, validity_days=365)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    """The P-256 leaf key of this module's CSRs."""
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    """The RSA-2048 leaf key of this module's CSRs."""
    return rsa.generate_private_key(65537, 2048)


def _csr_pem(
    key: PrivateKey,
    subject: Sequence[x509.NameAttribute[str]] | None = None,
    sans: Sequence[x509.GeneralName] | None = None,
) -> str:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, "api.example.com")]
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name(attributes if subject is None else subject)
    )
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def _facts(
    key: PrivateKey,
    subject: Sequence[x509.NameAttribute[str]] | None = None,
    sans: Sequence[x509.GeneralName] | None = None,
) -> CSRFacts:
    return parse_csr(_csr_pem(key, subject, sans))


def _issue(ca: LocalCA, facts: CSRFacts, **kwargs: object) -> x509.Certificate:
    options: dict[str, object] = {"profile": PROFILE, "now": NOW, **kwargs}
    issued = issue_leaf(ca, facts, **options)  # type: ignore[arg-type]
    return x509.load_pem_x509_certificate(issued.pem.encode())


def _ext(cert: x509.Certificate, kind: type[T]) -> x509.Extension[T]:
    return cert.extensions.get_extension_for_class(kind)


def _has(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> bool:
    return any(isinstance(e.value, kind) for e in cert.extensions)


def _openssl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def _openssl_csr(tmp_path: Path) -> str:
    """A P-256 CSR for api.example.com (DNS and IP SANs) made by `openssl req`."""
    new_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem")
    san = "subjectAltName=DNS:api.example.com,IP:10.0.0.1"
    result = _openssl(
        tmp_path, "req", "-new", *new_key, "-subj", "/CN=api.example.com", "-addext", san
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- openssl verification -------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["ECDSA-P256", "RSA-2048", "Ed25519"])
def test_openssl_verifies_a_tls_leaf(tmp_path: Path, spec: str) -> None:
    """`openssl verify -purpose sslserver` accepts a leaf of an EC, RSA or Ed25519 CA."""
    root = create_root("certctl Root", spec, now=NOW)
    issued = issue_leaf(root, _openssl_csr(tmp_path), profile=PROFILE, now=NOW)
    (tmp_path / "ca.pem").write_text(root.chain_pem)
    (tmp_path / "leaf.pem").write_text(issued.pem)
    result = _openssl(
        tmp_path,
        "verify",
        "-attime",
        EPOCH,
        "-purpose",
        "sslserver",
        "-CAfile",
        "ca.pem",
        "leaf.pem",
    )
    assert (result.returncode, result.stdout) == (0, "leaf.pem: OK\n")


def test_openssl_verifies_an_smime_leaf(
    tmp_path: Path, ca: LocalCA, rsa_key: rsa.RSAPrivateKey
) -> None:
    """An emailProtection leaf passes `openssl verify -purpose smimesign`."""
    facts = _facts(rsa_key, sans=[x509.RFC822Name("ops@example.com")])
    issued = issue_leaf(
        ca, facts, profile=replace(PROFILE, allowed_ekus=("emailProtection",)), now=NOW
    )
    (tmp_path / "ca.pem").write_text(ca.chain_pem)
    (tmp_path / "leaf.pem").write_text(issued.pem)
    result = _openssl(
        tmp_path,
        "verify",
        "-attime",
        EPOCH,
        "-purpose",
        "smimesign",
        "-CAfile",
        "ca.pem",
        "leaf.pem",
    )
    assert (result.returncode, result.stdout) == (0, "leaf.pem: OK\n")


def test_openssl_verifies_a_leaf_of_a_sub_ca(tmp_path: Path, ca: LocalCA) -> None:
    """A leaf of a sub-CA loaded from PEM verifies up to the root through the sub-CA."""
    sub_key = generate_key("ECDSA-P256")
    sub_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certctl Sub-CA")]))
        .issuer_name(ca.certificate.subject)
        .public_key(sub_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=100))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            ca.certificate.extensions.get_extension_for_class(x509.KeyUsage).value, critical=True
        )
        .sign(ca.key, hashes.SHA256())
    )
    bundle = sub_cert.public_bytes(serialization.Encoding.PEM).decode() + ca.certificate_pem
    sub = load_sub_ca(bundle, private_key_to_pem(sub_key), NOW)
    issued = issue_leaf(sub, _openssl_csr(tmp_path), profile=PROFILE, now=NOW)
    (tmp_path / "root.pem").write_text(ca.certificate_pem)
    (tmp_path / "chain.pem").write_text(issued.chain_pem)
    (tmp_path / "leaf.pem").write_text(issued.pem)
    result = _openssl(
        tmp_path,
        "verify",
        "-attime",
        EPOCH,
        "-CAfile",
        "root.pem",
        "-untrusted",
        "chain.pem",
        "leaf.pem",
    )
    assert (result.returncode, result.stdout) == (0, "leaf.pem: OK\n")


# --- identity, serial, validity -------------------------------------------------------------


def test_serial_is_positive_below_2_to_159_and_reported_in_hex(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """The serial is a positive random number under 2^159; serial_hex is its lowercase hex."""
    issued = issue_leaf(ca, _facts(ec_key), profile=PROFILE, now=NOW)
    serial = x509.load_pem_x509_certificate(issued.pem.encode()).serial_number
    assert (0 < serial < 2**159, issued.serial_hex) == (True, format(serial, "x"))


def test_serials_differ_between_leaves(ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey) -> None:
    """Two leaves for the same CSR get different serials."""
    facts = _facts(ec_key)
    first = issue_leaf(ca, facts, profile=PROFILE, now=NOW)
    second = issue_leaf(ca, facts, profile=PROFILE, now=NOW)
    assert first.serial_hex != second.serial_hex


def test_subject_is_copied_from_the_csr(ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey) -> None:
    """The leaf's subject is the CSR's whole subject; its issuer is the CA."""
    subject = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example"),
        x509.NameAttribute(NameOID.COMMON_NAME, "api.example.com"),
    ]
    cert = _issue(ca, _facts(ec_key, subject=subject))
    assert (cert.subject, cert.issuer) == (x509.Name(subject), ca.certificate.subject)


def test_sans_are_split_into_dns_ip_and_email(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """DNS, IP and email SANs are issued as such, DNS first, in a non-critical extension."""
    sans: list[x509.GeneralName] = [
        x509.RFC822Name("ops@example.com"),
        x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
        x509.DNSName("api.example.com"),
    ]
    ext = _ext(_issue(ca, _facts(ec_key, sans=sans)), x509.SubjectAlternativeName)
    assert (ext.critical, list(ext.value)) == (False, [sans[2], sans[1], sans[0]])


def test_san_is_critical_when_the_subject_is_empty(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """RFC 5280 4.2.1.6: with an empty subject the SAN extension is critical."""
    facts = _facts(ec_key, subject=[], sans=[x509.DNSName("api.example.com")])
    assert _ext(_issue(ca, facts), x509.SubjectAlternativeName).critical is True


def test_no_san_extension_without_requested_names(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """A CSR without SANs gives a leaf without a SAN extension."""
    assert _has(_issue(ca, _facts(ec_key)), x509.SubjectAlternativeName) is False


@pytest.mark.parametrize(
    ("ttl", "max_ttl", "default", "lifetime"),
    [
        (None, 0, timedelta(days=90), timedelta(days=90)),
        (30 * DAY, 0, timedelta(days=90), timedelta(days=30)),
        (30 * DAY, 7 * DAY, timedelta(days=90), timedelta(days=7)),
        (200 * DAY, 0, timedelta(days=90), timedelta(days=90)),
        (None, 0, timedelta(days=10), timedelta(days=10)),
        (None, 3 * DAY, timedelta(days=90), timedelta(days=3)),
    ],
)
def test_validity_is_the_shortest_of_request_profile_and_issuer_default(
    ca: LocalCA,
    ec_key: ec.EllipticCurvePrivateKey,
    ttl: int | None,
    max_ttl: int,
    default: timedelta,
    lifetime: timedelta,
) -> None:
    """not_after is now + min(requested, profile max when set, issuer default)."""
    profile = replace(PROFILE, max_ttl_seconds=max_ttl)
    issued = issue_leaf(
        ca, _facts(ec_key), profile=profile, now=NOW, ttl_seconds=ttl, issuer_default_ttl=default
    )
    assert issued.not_after == NOW + lifetime


def test_not_before_is_a_minute_before_now(ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey) -> None:
    """The leaf starts one minute early to absorb clock skew."""
    assert issue_leaf(ca, _facts(ec_key), profile=PROFILE, now=NOW).not_before == datetime(
        2026, 6, 1, 11, 59, tzinfo=UTC
    )


def test_validity_stops_at_the_ca_expiry(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A leaf never outlives its CA."""
    short_ca = create_root("Short CA", now=NOW, validity_days=10)
    issued = issue_leaf(short_ca, _facts(ec_key), profile=PROFILE, now=NOW, ttl_seconds=30 * DAY)
    assert issued.not_after == short_ca.certificate.not_valid_after_utc


@pytest.mark.parametrize("ttl", [0, -60])
def test_non_positive_ttl_is_refused(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey, ttl: int
) -> None:
    """A TTL of zero or less is refused on `ttl_seconds`."""
    with pytest.raises(InvalidRequest) as caught:
        issue_leaf(ca, _facts(ec_key), profile=PROFILE, now=NOW, ttl_seconds=ttl)
    assert (caught.value.field, caught.value.detail) == (
        "ttl_seconds",
        f"TTL must be positive, got {ttl} seconds",
    )


def test_expired_ca_cannot_issue(ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey) -> None:
    """Issuing after the CA expired raises CAUnavailable naming the expiry."""
    with pytest.raises(CAUnavailable) as caught:
        issue_leaf(ca, _facts(ec_key), profile=PROFILE, now=NOW + timedelta(days=366))
    assert caught.value.detail == "the CA certificate expired on 2027-06-01T12:00:00+00:00"


# --- extensions -----------------------------------------------------------------------------


def test_basic_constraints_say_not_a_ca(ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey) -> None:
    """BasicConstraints is critical CA:FALSE."""
    ext = _ext(_issue(ca, _facts(ec_key)), x509.BasicConstraints)
    assert (ext.critical, ext.value) == (True, x509.BasicConstraints(ca=False, path_length=None))


@pytest.mark.parametrize(
    ("ekus", "oids"),
    [
        (("serverAuth",), [ExtendedKeyUsageOID.SERVER_AUTH]),
        ((), [ExtendedKeyUsageOID.SERVER_AUTH]),
        (
            ("serverAuth", "clientAuth"),
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        ),
    ],
)
def test_eku_comes_from_the_profile(
    ca: LocalCA,
    ec_key: ec.EllipticCurvePrivateKey,
    ekus: tuple[str, ...],
    oids: list[x509.ObjectIdentifier],
) -> None:
    """EKUs are the profile's, serverAuth when the profile lists none; non-critical."""
    ext = _ext(
        _issue(ca, _facts(ec_key), profile=replace(PROFILE, allowed_ekus=ekus)),
        x509.ExtendedKeyUsage,
    )
    assert (ext.critical, list(ext.value)) == (False, oids)


def test_ocsp_signing_eku_is_refused(ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A profile granting OCSPSigning cannot issue: only the CA's responder may sign OCSP."""
    profile = replace(PROFILE, allowed_ekus=("serverAuth", "OCSPSigning"))
    with pytest.raises(PolicyViolation) as caught:
        issue_leaf(ca, _facts(ec_key), profile=profile, now=NOW)
    assert (caught.value.rule, caught.value.field, caught.value.detail) == (
        "eku",
        "allowed_ekus",
        "OCSPSigning is reserved for the CA's own OCSP responder",
    )


def _usage(
    *, signature: bool = True, commitment: bool = False, encipher: bool = False, agree: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=commitment,
        key_encipherment=encipher,
        data_encipherment=False,
        key_agreement=agree,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


@pytest.mark.parametrize(
    ("key_name", "ekus", "usage"),
    [
        ("ec_key", ("serverAuth",), _usage()),
        ("rsa_key", ("serverAuth",), _usage(encipher=True)),
        ("ec_key", ("emailProtection",), _usage(commitment=True, agree=True)),
        ("rsa_key", ("emailProtection",), _usage(commitment=True, encipher=True)),
    ],
    ids=["ec-tls", "rsa-tls", "ec-smime", "rsa-smime"],
)
def test_key_usage_follows_key_type_and_eku(
    request: pytest.FixtureRequest,
    ca: LocalCA,
    key_name: str,
    ekus: tuple[str, ...],
    usage: x509.KeyUsage,
) -> None:
    """digitalSignature always, keyEncipherment for RSA, S/MIME adds non-repudiation and ECDH."""
    key: PrivateKey = request.getfixturevalue(key_name)
    ext = _ext(_issue(ca, _facts(key), profile=replace(PROFILE, allowed_ekus=ekus)), x509.KeyUsage)
    assert (ext.critical, ext.value) == (True, usage)


def test_key_usage_of_an_ed25519_leaf_is_signature_only(ca: LocalCA) -> None:
    """An Ed25519 leaf key can only sign."""
    key = generate_key("Ed25519")
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ed.example.com")]))
        .sign(key, None)
    )
    facts = parse_csr(csr.public_bytes(serialization.Encoding.PEM).decode())
    assert _ext(_issue(ca, facts), x509.KeyUsage).value == _usage()


def test_subject_and_authority_key_identifiers(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """SKI hashes the leaf key; AKI is the CA's SKI."""
    cert = _issue(ca, _facts(ec_key))
    ca_ski = _ext(ca.certificate, x509.SubjectKeyIdentifier).value.digest
    assert (
        _ext(cert, x509.SubjectKeyIdentifier).value,
        _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier,
    ) == (x509.SubjectKeyIdentifier.from_public_key(ec_key.public_key()), ca_ski)


def test_crl_distribution_point_is_added_when_configured(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """The CRL URL becomes the full name of the only distribution point."""
    cert = _issue(ca, _facts(ec_key), crl_url="http://pki.example/crl/ca1")
    (point,) = _ext(cert, x509.CRLDistributionPoints).value
    assert point.full_name == [x509.UniformResourceIdentifier("http://pki.example/crl/ca1")]


def test_authority_information_access_lists_ocsp_and_ca_issuers(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """AIA carries the OCSP URL then the caIssuers URL."""
    cert = _issue(
        ca,
        _facts(ec_key),
        ocsp_url="http://pki.example/ocsp/ca1",
        ca_issuers_url="http://pki.example/ca1.der",
    )
    assert list(_ext(cert, x509.AuthorityInformationAccess).value) == [
        x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP,
            x509.UniformResourceIdentifier("http://pki.example/ocsp/ca1"),
        ),
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier("http://pki.example/ca1.der"),
        ),
    ]


def test_authority_information_access_with_ocsp_only(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """An OCSP URL alone gives a one-entry AIA."""
    cert = _issue(ca, _facts(ec_key), ocsp_url="http://pki.example/ocsp/ca1")
    assert len(_ext(cert, x509.AuthorityInformationAccess).value) == 1


def test_no_urls_no_crl_or_aia_extensions(ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey) -> None:
    """Without URLs the leaf has neither CRL distribution points nor AIA."""
    cert = _issue(ca, _facts(ec_key))
    assert (
        _has(cert, x509.CRLDistributionPoints),
        _has(cert, x509.AuthorityInformationAccess),
    ) == (
        False,
        False,
    )


def test_must_staple_adds_the_tls_feature(ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A must-staple profile adds TLS Feature status_request (RFC 7633)."""
    cert = _issue(ca, _facts(ec_key), profile=replace(PROFILE, must_staple=True))
    assert list(_ext(cert, x509.TLSFeature).value) == [x509.TLSFeatureType.status_request]


def test_no_tls_feature_without_must_staple(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """Without must-staple there is no TLS Feature extension."""
    assert _has(_issue(ca, _facts(ec_key)), x509.TLSFeature) is False


@pytest.mark.parametrize(
    ("spec", "digest"), [("ECDSA-P256", "sha256"), ("RSA-2048", "sha256"), ("Ed25519", None)]
)
def test_leaf_is_signed_with_the_ca_digest(
    ec_key: ec.EllipticCurvePrivateKey, spec: str, digest: str | None
) -> None:
    """EC and RSA CAs sign with SHA-256; an Ed25519 CA signs without a digest."""
    cert = _issue(create_root("Root", spec, now=NOW), _facts(ec_key))
    algorithm = cert.signature_hash_algorithm
    assert (algorithm.name if algorithm else None) == digest


# --- input and result -----------------------------------------------------------------------


def test_pem_csr_is_parsed_and_checked(ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A PEM CSR can be passed directly; its key ends up in the leaf."""
    issued = issue_leaf(ca, _csr_pem(ec_key), profile=PROFILE, now=NOW)
    cert = x509.load_pem_x509_certificate(issued.pem.encode())
    assert cert.public_key() == ec_key.public_key()


def test_bad_pem_csr_is_refused(ca: LocalCA) -> None:
    """An unusable PEM CSR is refused on `csr_pem`."""
    with pytest.raises(InvalidRequest) as caught:
        issue_leaf(ca, "not a csr", profile=PROFILE, now=NOW)
    assert caught.value.field == "csr_pem"


def test_issued_certificate_describes_the_leaf(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """The result carries the issuing chain, dates and SHA-256 fingerprint of the leaf."""
    issued = issue_leaf(ca, _facts(ec_key), profile=PROFILE, now=NOW)
    cert = x509.load_pem_x509_certificate(issued.pem.encode())
    assert issued == IssuedCertificate(
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        chain_pem=ca.chain_pem,
        serial_hex=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        certificate=cert,
    )
    assert issued.certificate == cert


def test_full_chain_is_leaf_then_issuing_chain(
    ca: LocalCA, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """full_chain_pem is the leaf PEM followed by the CA chain."""
    issued = issue_leaf(ca, _facts(ec_key), profile=PROFILE, now=NOW)
    assert issued.full_chain_pem == issued.pem + ca.chain_pem
