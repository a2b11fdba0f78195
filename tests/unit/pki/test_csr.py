"""Parsing CSRs into facts and checking them against a certificate profile's rules."""

from __future__ import annotations

import ipaddress
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certctl.domain.policies import CertificateProfile, KeyAlgorithmRule
from certctl.errors import InvalidRequest, PolicyViolation
from certctl.pki.csr import CSRFacts, check_csr, common_name, make_csr, parse_csr
from certctl.pki.keys import PrivateKey

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAY = 86400
PROFILE = CertificateProfile(id="prof-web", name="web", created_at=NOW, updated_at=NOW)
UNUSABLE = "not a usable PEM CSR: "


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    """One P-256 key for the CSRs built in this module."""
    return ec.generate_private_key(ec.SECP256R1())


def _csr(
    key: PrivateKey | ed448.Ed448PrivateKey,
    *,
    cn: str | None = "api.example.com",
    sans: list[x509.GeneralName] | None = None,
    ekus: list[x509.ObjectIdentifier] | None = None,
) -> str:
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject))
    if sans is None and cn:  # a TLS server CSR names its host in a SAN too
        sans = [x509.DNSName(cn)]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    digest = (
        hashes.SHA256() if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) else None
    )
    return builder.sign(key, digest).public_bytes(serialization.Encoding.PEM).decode()


def _openssl_csr(tmp_path: Path, newkey: str, subject: str, *extensions: str) -> str:
    """A CSR made by `openssl req -new -newkey …` with `-addext` extensions."""
    command = ["openssl", "req", "-new", "-newkey", newkey, "-nodes", "-keyout", "key.pem"]
    command += ["-subj", subject, "-out", "csr.pem"]
    for extension in extensions:
        command += ["-addext", extension]
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    return (tmp_path / "csr.pem").read_text()


def _facts(ec_key: ec.EllipticCurvePrivateKey, *names: str, cn: str | None = None) -> CSRFacts:
    return parse_csr(_csr(ec_key, cn=cn, sans=[x509.DNSName(n) for n in names]))


def _violation(
    facts: CSRFacts, profile: CertificateProfile, ttl: int = 30 * DAY
) -> PolicyViolation:
    with pytest.raises(PolicyViolation) as caught:
        check_csr(facts, profile, requested_ttl_seconds=ttl)
    return caught.value


# --- parse_csr ------------------------------------------------------------------------------


def test_openssl_csr_facts_are_read(tmp_path: Path) -> None:
    """CN, SANs split by type, key and requested EKUs come out of an openssl CSR."""
    pem = _openssl_csr(
        tmp_path,
        "rsa:2048",
        "/O=Example/CN=api.example.com",
        "subjectAltName=DNS:api.example.com,DNS:www.example.com,IP:10.0.0.1,"
        "IP:2001:db8::1,email:ops@example.com",
        "extendedKeyUsage=serverAuth,clientAuth",
    )
    facts = parse_csr(pem)
    assert (
        facts.common_name,
        facts.dns_names,
        facts.ip_addresses,
        facts.emails,
        facts.key_algorithm,
        facts.key_size,
        facts.requested_ekus,
    ) == (
        "api.example.com",
        ("api.example.com", "www.example.com"),
        ("10.0.0.1", "2001:db8::1"),
        ("ops@example.com",),
        "RSA",
        2048,
        ("serverAuth", "clientAuth"),
    )


def test_names_lists_dns_then_ip_then_email(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """`names` joins every SAN, DNS names first, then IPs, then emails."""
    pem = _csr(
        ec_key,
        sans=[
            x509.RFC822Name("a@example.com"),
            x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
            x509.DNSName("b.example.com"),
        ],
    )
    assert parse_csr(pem).names == ("b.example.com", "192.0.2.1", "a@example.com")


def test_subject_and_public_key_are_kept(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """The whole subject and the public key are kept for issuance."""
    facts = parse_csr(_csr(ec_key))
    assert (facts.subject, facts.public_key) == (
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.example.com")]),
        ec_key.public_key(),
    )


def test_csr_without_extensions_has_empty_names_and_ekus(
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    """No SAN and no EKU extension give empty tuples."""
    facts = parse_csr(_csr(ec_key, sans=[]))
    assert (facts.names, facts.requested_ekus) == ((), ())


def test_csr_without_cn_has_an_empty_common_name(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A subject without CN gives an empty common name."""
    assert parse_csr(_csr(ec_key, cn=None, sans=[x509.DNSName("a.example.com")])).common_name == ""


def test_unknown_eku_is_named_by_its_oid(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """An EKU outside the profile vocabulary is reported as its dotted OID."""
    pem = _csr(ec_key, ekus=[ExtendedKeyUsageOID.SERVER_AUTH, x509.ObjectIdentifier("1.2.3.4")])
    assert parse_csr(pem).requested_ekus == ("serverAuth", "1.2.3.4")


@pytest.mark.parametrize(
    ("key", "described"),
    [
        (ed25519.Ed25519PrivateKey.generate(), ("Ed25519", 256)),
        (ed448.Ed448PrivateKey.generate(), ("Ed448", 456)),
        (ec.generate_private_key(ec.SECP384R1()), ("ECDSA", 384)),
    ],
    ids=["ed25519", "ed448", "p384"],
)
def test_key_algorithm_and_size_are_read(
    key: PrivateKey | ed448.Ed448PrivateKey, described: tuple[str, int]
) -> None:
    """The key is named as profiles name it, with its size in bits."""
    facts = parse_csr(_csr(key))
    assert (facts.key_algorithm, facts.key_size) == described


def test_bad_signature_is_refused(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A CSR whose signature does not verify is refused on `csr_pem`."""
    csr = x509.load_pem_x509_csr(_csr(rsa.generate_private_key(65537, 2048)).encode())
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01
    tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(InvalidRequest) as caught:
        parse_csr(tampered.decode())
    assert (caught.value.field, caught.value.detail) == (
        "csr_pem",
        "the CSR's signature does not verify",
    )


def test_bad_pem_is_refused() -> None:
    """Text that is not a PEM CSR is refused on `csr_pem`."""
    with pytest.raises(InvalidRequest) as caught:
        parse_csr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    assert (caught.value.field, caught.value.detail.startswith(UNUSABLE)) == ("csr_pem", True)


def test_non_unicode_text_is_refused() -> None:
    """A string that cannot be encoded is refused, not crashed on."""
    with pytest.raises(InvalidRequest) as caught:
        parse_csr("\udc80")
    assert (caught.value.field, caught.value.detail) == ("csr_pem", "PEM text is not valid Unicode")


def test_unsupported_san_type_is_refused(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A URI SAN is refused: only DNS, IP and email names are issued."""
    pem = _csr(ec_key, sans=[x509.UniformResourceIdentifier("https://example.com")])
    with pytest.raises(InvalidRequest) as caught:
        parse_csr(pem)
    assert caught.value.detail == (
        "not a usable PEM CSR: unsupported SAN "
        "<UniformResourceIdentifier(value='https://example.com')>; "
        "only DNS, IP and email names are issued"
    )


def test_common_name_of_a_name_without_cn_is_empty() -> None:
    """`common_name` of a name without CN is the empty string."""
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example")])
    assert common_name(name) == ""


# --- check_csr ------------------------------------------------------------------------------


def test_openssl_rsa_1024_csr_breaks_key_algorithm(tmp_path: Path) -> None:
    """An `openssl req -newkey rsa:1024` CSR is refused by rule key_algorithm."""
    facts = parse_csr(_openssl_csr(tmp_path, "rsa:1024", "/CN=api.example.com"))
    error = _violation(facts, PROFILE)
    assert (error.rule, error.field, error.detail) == (
        "key_algorithm",
        "csr_pem",
        "RSA key of 1024 bits is below the profile's minimum of 2048 bits",
    )


def test_key_algorithm_outside_the_profile_is_refused() -> None:
    """An Ed25519 key under the default rules is refused, listing what is allowed."""
    facts = parse_csr(_csr(ed25519.Ed25519PrivateKey.generate()))
    error = _violation(facts, PROFILE)
    assert (error.rule, error.detail) == (
        "key_algorithm",
        "Ed25519 keys are not allowed by the profile; allowed: ECDSA >= 256 bits, RSA >= 2048 bits",
    )


def test_key_algorithm_allowed_by_the_profile_passes() -> None:
    """A profile allowing Ed25519 accepts an Ed25519 key."""
    facts = parse_csr(_csr(ed25519.Ed25519PrivateKey.generate()))
    profile = replace(PROFILE, allowed_key_algorithms=(KeyAlgorithmRule("Ed25519"),))
    check_csr(facts, profile, requested_ttl_seconds=30 * DAY)


def test_empty_key_rules_mean_the_defaults(tmp_path: Path) -> None:
    """A profile without key rules applies the default ECDSA ≥ 256 / RSA ≥ 2048."""
    facts = parse_csr(_openssl_csr(tmp_path, "rsa:1024", "/CN=api.example.com"))
    assert _violation(facts, replace(PROFILE, allowed_key_algorithms=())).rule == "key_algorithm"


def test_openssl_csr_with_a_wrong_san_breaks_san_pattern(tmp_path: Path) -> None:
    """A SAN matching none of the profile's patterns is refused, naming the SAN."""
    pem = _openssl_csr(
        tmp_path,
        "rsa:2048",
        "/CN=api.example.com",
        "subjectAltName=DNS:api.example.com,DNS:evil.example.org",
    )
    profile = replace(PROFILE, required_san_patterns=(r".*\.example\.com",))
    error = _violation(parse_csr(pem), profile)
    assert (error.rule, error.field, error.detail) == (
        "san_pattern",
        "csr_pem",
        r"name 'evil.example.org' matches none of the profile's SAN patterns: .*\.example\.com",
    )


def test_san_pattern_must_match_the_whole_name(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A pattern matching only a prefix of the SAN does not let it through."""
    profile = replace(PROFILE, required_san_patterns=(r".*\.example\.com",))
    error = _violation(_facts(ec_key, "www.example.com.attacker.net"), profile)
    assert error.rule == "san_pattern"


def test_san_pattern_checks_the_common_name(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A CN outside the patterns is refused even when every SAN matches."""
    profile = replace(PROFILE, required_san_patterns=(r".*\.example\.com",))
    error = _violation(_facts(ec_key, "api.example.com", cn="intranet"), profile)
    assert error.detail == (
        r"name 'intranet' matches none of the profile's SAN patterns: .*\.example\.com"
    )


def test_every_name_matching_some_pattern_passes(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """Each name may match a different pattern."""
    profile = replace(PROFILE, required_san_patterns=(r"api\.example\.com", r".*\.example\.net"))
    facts = _facts(ec_key, "api.example.com", "www.example.net", cn="api.example.com")
    check_csr(facts, profile, requested_ttl_seconds=30 * DAY)


def test_no_patterns_allow_any_name(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A profile without SAN patterns accepts any name."""
    check_csr(_facts(ec_key, "anything.invalid"), PROFILE, requested_ttl_seconds=30 * DAY)


def test_openssl_csr_with_too_long_a_ttl_breaks_max_ttl(tmp_path: Path) -> None:
    """A TTL above the profile's maximum is refused by rule max_ttl."""
    facts = parse_csr(
        _openssl_csr(
            tmp_path, "rsa:2048", "/CN=api.example.com", "subjectAltName=DNS:api.example.com"
        )
    )
    error = _violation(facts, replace(PROFILE, max_ttl_seconds=90 * DAY), ttl=91 * DAY)
    assert (error.rule, error.field, error.detail) == (
        "max_ttl",
        "ttl_seconds",
        "requested TTL of 7862400 seconds exceeds the profile's maximum of 7776000 seconds",
    )


def test_ttl_equal_to_the_maximum_passes(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A TTL exactly at the maximum is allowed."""
    profile = replace(PROFILE, max_ttl_seconds=90 * DAY)
    check_csr(_facts(ec_key, "a.example.com"), profile, requested_ttl_seconds=90 * DAY)


def test_zero_max_ttl_means_no_limit(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """max_ttl_seconds 0 puts no upper bound on the TTL."""
    check_csr(_facts(ec_key, "a.example.com"), PROFILE, requested_ttl_seconds=3650 * DAY)


def test_eku_outside_the_profile_is_refused(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A requested clientAuth under a serverAuth-only profile is refused by rule eku."""
    facts = parse_csr(_csr(ec_key, ekus=[ExtendedKeyUsageOID.CLIENT_AUTH]))
    error = _violation(facts, PROFILE)
    assert (error.rule, error.field, error.detail) == (
        "eku",
        "csr_pem",
        "extended key usage clientAuth is not allowed by the profile; allowed: serverAuth",
    )


def test_requested_ekus_inside_the_profile_pass(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """Requested EKUs that the profile allows pass."""
    facts = parse_csr(_csr(ec_key, ekus=[ExtendedKeyUsageOID.CLIENT_AUTH]))
    profile = replace(PROFILE, allowed_ekus=("serverAuth", "clientAuth"))
    check_csr(facts, profile, requested_ttl_seconds=30 * DAY)


def test_empty_allowed_ekus_mean_server_auth(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A profile without EKUs allows serverAuth only."""
    facts = parse_csr(_csr(ec_key, ekus=[ExtendedKeyUsageOID.CODE_SIGNING]))
    error = _violation(facts, replace(PROFILE, allowed_ekus=()))
    assert error.detail == (
        "extended key usage codeSigning is not allowed by the profile; allowed: serverAuth"
    )


def test_short_lived_ttl_needs_the_profile_permission(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A TTL under one hour is refused by rule short_lived unless the profile allows it."""
    error = _violation(_facts(ec_key, "a.example.com"), PROFILE, ttl=3599)
    assert (error.rule, error.field, error.detail) == (
        "short_lived",
        "ttl_seconds",
        "requested TTL of 3599 seconds is short-lived (under 3600 seconds) and the profile "
        "does not allow short-lived certificates",
    )


def test_short_lived_ttl_passes_when_allowed(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A profile allowing short-lived certificates accepts a 5-minute TTL."""
    profile = replace(PROFILE, allow_short_lived=True)
    check_csr(_facts(ec_key, "a.example.com"), profile, requested_ttl_seconds=300)


def test_one_hour_is_not_short_lived(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """Exactly one hour is not short-lived."""
    check_csr(_facts(ec_key, "a.example.com"), PROFILE, requested_ttl_seconds=3600)


@pytest.mark.parametrize("ttl", [0, -1])
def test_non_positive_ttl_is_an_invalid_request(
    ec_key: ec.EllipticCurvePrivateKey, ttl: int
) -> None:
    """A TTL of zero or less is malformed input, not a policy violation."""
    with pytest.raises(InvalidRequest) as caught:
        check_csr(_facts(ec_key, "a.example.com"), PROFILE, requested_ttl_seconds=ttl)
    assert (type(caught.value), caught.value.field, caught.value.detail) == (
        InvalidRequest,
        "ttl_seconds",
        f"TTL must be positive, got {ttl} seconds",
    )


def test_make_csr_builds_a_signed_request_whose_names_split_by_shape() -> None:
    """A server-made CSR verifies and carries the CN plus DNS, IP and email SANs."""
    csr_pem, key_pem = make_csr(
        "web.example.com", ("web.example.com", "10.0.0.7", "ops@example.com"), "ECDSA-P256"
    )
    facts = parse_csr(csr_pem)
    assert facts.dns_names == ("web.example.com",)
    assert facts.ip_addresses == ("10.0.0.7",)
    assert facts.emails == ("ops@example.com",)
    assert facts.key_algorithm == "ECDSA"
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_make_csr_leaves_out_a_common_name_longer_than_64_characters() -> None:
    """X.509 caps the CN at 64 characters, so a longer name travels only as a SAN."""
    long_name = "a" * 60 + ".example.com"
    csr_pem, _ = make_csr(long_name, (), "ECDSA-P256")
    facts = parse_csr(csr_pem)
    assert facts.dns_names == (long_name,)
    assert len(facts.subject) == 0


def test_make_csr_without_any_name_has_an_empty_subject_and_no_san() -> None:
    """No CN and no names: a bare request (the profile checks refuse it later)."""
    csr_pem, _ = make_csr("", (), "Ed25519")
    facts = parse_csr(csr_pem)
    assert (len(facts.subject), facts.names) == (0, ())
