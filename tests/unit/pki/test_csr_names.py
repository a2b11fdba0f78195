"""The subject and name rules a CSR must pass before the local CA signs it (C5)."""

from __future__ import annotations

import ipaddress
import warnings
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certctl.domain.policies import CABF_MAX_TTL_SECONDS, CABF_SERVERAUTH, CertificateProfile
from certctl.errors import PolicyViolation
from certctl.pki.csr import CSRFacts, check_csr, dns_name_problem, parse_csr

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TTL = 30 * 86400
PROFILE = CertificateProfile(id="prof-web", name="web", created_at=NOW, updated_at=NOW)
SMIME = replace(PROFILE, allowed_ekus=("emailProtection",))


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    """One P-256 key for every CSR of this module."""
    return ec.generate_private_key(ec.SECP256R1())


def _facts(
    key: ec.EllipticCurvePrivateKey,
    subject: list[tuple[x509.ObjectIdentifier, str]],
    sans: list[x509.GeneralName],
) -> CSRFacts:
    # _validate=False builds the out-of-bounds subjects real clients send (with a warning).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        attributes = [x509.NameAttribute(oid, value, _validate=False) for oid, value in subject]
    name = x509.Name(attributes)
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
    return parse_csr(pem)


def _rule(
    facts: CSRFacts,
    profile: CertificateProfile = PROFILE,
    declared: tuple[str, ...] | None = None,
) -> tuple[str, str | None, str]:
    with pytest.raises(PolicyViolation) as caught:
        check_csr(facts, profile, requested_ttl_seconds=TTL, declared_names=declared)
    return caught.value.rule, caught.value.field, caught.value.detail


def _dns(*names: str) -> list[x509.GeneralName]:
    return [x509.DNSName(n) for n in names]


def test_common_name_of_83_characters_is_refused(key: ec.EllipticCurvePrivateKey) -> None:
    """A CN longer than ub-common-name (64) breaks rule subject_attribute_length."""
    long = "a" * 71 + ".example.com"
    facts = _facts(key, [(NameOID.COMMON_NAME, long)], _dns(long))
    assert _rule(facts) == (
        "subject_attribute_length",
        "csr_pem",
        "subject commonName has 83 characters; X.520 allows 1 to 64",
    )


def test_organization_of_65_characters_is_refused(key: ec.EllipticCurvePrivateKey) -> None:
    """Every bounded attribute is checked, not only the CN."""
    facts = _facts(key, [(NameOID.ORGANIZATION_NAME, "o" * 65)], _dns("a.example.com"))
    assert _rule(facts)[0::2] == (
        "subject_attribute_length",
        "subject organizationName has 65 characters; X.520 allows 1 to 64",
    )


@pytest.mark.parametrize("country", ["USA", "U", "1A"])
def test_country_that_is_not_two_letters_is_refused(
    key: ec.EllipticCurvePrivateKey, country: str
) -> None:
    """countryName must be an ISO 3166 two-letter code."""
    facts = _facts(key, [(NameOID.COUNTRY_NAME, country)], _dns("a.example.com"))
    assert _rule(facts) == (
        "subject_country",
        "csr_pem",
        f"subject country {country!r} must be exactly two letters (ISO 3166-1 alpha-2)",
    )


def test_email_address_without_matching_san_is_refused(key: ec.EllipticCurvePrivateKey) -> None:
    """A subject emailAddress must also be an rfc822Name SAN."""
    facts = _facts(
        key,
        [(NameOID.EMAIL_ADDRESS, "ops@example.com")],
        [x509.RFC822Name("other@example.com")],
    )
    assert _rule(facts, SMIME) == (
        "subject_email_in_san",
        "csr_pem",
        "subject emailAddress 'ops@example.com' is not among the CSR's email SANs",
    )


def test_email_address_with_matching_san_passes(key: ec.EllipticCurvePrivateKey) -> None:
    """The same address as SAN (any case) satisfies the rule."""
    facts = _facts(
        key, [(NameOID.EMAIL_ADDRESS, "Ops@Example.com")], [x509.RFC822Name("ops@example.com")]
    )
    check_csr(facts, SMIME, requested_ttl_seconds=TTL)


def test_country_of_two_letters_and_bounded_subject_pass(key: ec.EllipticCurvePrivateKey) -> None:
    """A well-formed subject with C, O and a 64-character CN is accepted."""
    cn = "a" * 52 + ".example.com"
    facts = _facts(
        key,
        [
            (NameOID.COUNTRY_NAME, "DE"),
            (NameOID.ORGANIZATION_NAME, "Ex"),
            (NameOID.COMMON_NAME, cn),
        ],
        _dns(cn),
    )
    check_csr(facts, PROFILE, requested_ttl_seconds=TTL)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("trailing.example.com.", "ends with a dot"),
        ("bad_name.example.com", "has label 'bad_name', not letters, digits and inner hyphens"),
        ("-lead.example.com", "has label '-lead', not letters, digits and inner hyphens"),
        ("a..example.com", "has label '', not letters, digits and inner hyphens"),
        ("www.*.example.com", "has a wildcard that is not the whole leftmost label"),
        ("w*.example.com", "has a wildcard that is not the whole leftmost label"),
        ("*.com", "has a wildcard that is not the whole leftmost label"),
        ("a" * 64 + ".example.com", "has label '" + "a" * 64 + "', not letters"),
    ],
)
def test_dns_name_syntax_is_checked(
    key: ec.EllipticCurvePrivateKey, name: str, problem: str
) -> None:
    """A DNS SAN outside preferred name syntax breaks rule dns_name_syntax."""
    facts = _facts(key, [], _dns(name))
    rule, field, detail = _rule(facts)
    assert (rule, field) == ("dns_name_syntax", "csr_pem")
    assert detail.startswith(f"DNS name {name!r} {problem}")


@pytest.mark.parametrize("name", ["*.example.com", "xn--bcher-kva.example", "a-b.c0.example"])
def test_valid_dns_names_have_no_problem(name: str) -> None:
    """Wildcards as the whole leftmost label, A-labels and inner hyphens are valid."""
    assert dns_name_problem(name) is None


def test_dns_name_longer_than_253_characters_is_refused() -> None:
    """RFC 1035 caps a name at 253 characters."""
    assert dns_name_problem(".".join(["a" * 63] * 4)) == "is longer than 253 characters"


def test_undeclared_name_is_refused(key: ec.EllipticCurvePrivateKey) -> None:
    """A CSR naming a host the certificate record does not declare breaks declared_names."""
    facts = _facts(
        key, [(NameOID.COMMON_NAME, "a.example.com")], _dns("a.example.com", "bank.example")
    )
    assert _rule(facts, declared=("a.example.com",)) == (
        "declared_names",
        "csr_pem",
        "name 'bank.example' is not declared by the certificate (declared: a.example.com) "
        "and matches no SAN pattern of its profile",
    )


def test_undeclared_common_name_is_refused(key: ec.EllipticCurvePrivateKey) -> None:
    """The CN is held to the declared names as well."""
    facts = _facts(key, [(NameOID.COMMON_NAME, "bank.example")], _dns("a.example.com"))
    assert _rule(facts, declared=("a.example.com",))[0] == "declared_names"


def test_declared_names_match_without_case_and_ips_by_value(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    """Declared DNS names match in any case and IPv6 in any spelling."""
    sans = [*_dns("A.Example.com"), x509.IPAddress(ipaddress.ip_address("2001:db8::1"))]
    facts = _facts(key, [(NameOID.COMMON_NAME, "A.Example.com")], sans)
    declared = ("a.example.com", "2001:0db8:0:0:0:0:0:1")
    check_csr(facts, PROFILE, requested_ttl_seconds=TTL, declared_names=declared)


def test_profile_pattern_widens_the_declared_names(key: ec.EllipticCurvePrivateKey) -> None:
    """A name outside the record but matching a profile SAN pattern is allowed."""
    profile = replace(PROFILE, required_san_patterns=(r"[a-z0-9-]+\.example\.com",))
    facts = _facts(key, [], _dns("a.example.com", "b.example.com"))
    check_csr(facts, profile, requested_ttl_seconds=TTL, declared_names=("a.example.com",))


def test_tls_server_csr_without_san_is_refused(key: ec.EllipticCurvePrivateKey) -> None:
    """A serverAuth profile needs at least one DNS or IP SAN (rule san_required)."""
    facts = _facts(key, [(NameOID.COMMON_NAME, "a.example.com")], [])
    assert _rule(facts) == (
        "san_required",
        "csr_pem",
        "a TLS server certificate needs at least one DNS or IP subject alternative name",
    )


def test_tls_server_cn_outside_the_sans_is_refused(key: ec.EllipticCurvePrivateKey) -> None:
    """A serverAuth profile puts the CN among the SANs (rule cn_in_san)."""
    facts = _facts(key, [(NameOID.COMMON_NAME, "a.example.com")], _dns("b.example.com"))
    assert _rule(facts) == (
        "cn_in_san",
        "csr_pem",
        "common name 'a.example.com' is not among the DNS and IP SANs",
    )


def test_client_auth_profile_needs_no_san(key: ec.EllipticCurvePrivateKey) -> None:
    """The SAN rules of TLS servers do not apply to a clientAuth-only profile."""
    facts = _facts(key, [(NameOID.COMMON_NAME, "svc-backup")], [])
    check_csr(facts, replace(PROFILE, allowed_ekus=("clientAuth",)), requested_ttl_seconds=TTL)


CABF = replace(
    PROFILE,
    preset=CABF_SERVERAUTH,
    max_ttl_seconds=CABF_MAX_TTL_SECONDS,
    allowed_ekus=("serverAuth",),
)


@pytest.mark.parametrize(
    "name", [x509.DNSName("intranet"), x509.DNSName("db.corp"), x509.DNSName("printer.local")]
)
def test_cabf_preset_refuses_internal_dns_names(
    key: ec.EllipticCurvePrivateKey, name: x509.GeneralName
) -> None:
    """Single-label names and reserved suffixes break rule internal_name."""
    facts = _facts(key, [], [name])
    assert _rule(facts, CABF) == (
        "internal_name",
        "csr_pem",
        f"DNS name {name.value!r} is an internal name, not allowed by the cabf-serverauth preset",
    )


def test_cabf_preset_refuses_a_private_ip(key: ec.EllipticCurvePrivateKey) -> None:
    """An RFC 1918 address breaks rule internal_name."""
    facts = _facts(key, [], [x509.IPAddress(ipaddress.ip_address("10.0.0.7"))])
    assert _rule(facts, CABF)[0::2] == (
        "internal_name",
        "IP address 10.0.0.7 is private or reserved, not allowed by the cabf-serverauth preset",
    )


def test_cabf_preset_accepts_public_names(key: ec.EllipticCurvePrivateKey) -> None:
    """A public DNS name and a global IP pass the preset's rule."""
    sans = [*_dns("web.example.com"), x509.IPAddress(ipaddress.ip_address("8.8.8.8"))]
    check_csr(_facts(key, [], sans), CABF, requested_ttl_seconds=TTL)
