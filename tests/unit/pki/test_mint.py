"""Minting a throwaway CA and CA-signed TLS leaves with chosen dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certctl.pki.facts import read_pem, split_pem_chain
from certctl.pki.mint import MintingCA, make_ca, mint_leaf

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
NOT_BEFORE = NOW - timedelta(days=10)
NOT_AFTER = NOW + timedelta(days=80)


@pytest.fixture(scope="module")
def ca() -> MintingCA:
    """One demo CA for the module."""
    return make_ca("Unit Test CA", NOW)


@pytest.fixture(scope="module")
def leaf_pem(ca: MintingCA) -> str:
    """A leaf for two names, signed by the module CA."""
    return mint_leaf(
        ca,
        common_name="api.example.com",
        sans=["api.example.com", "www.example.com"],
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
    )


@pytest.fixture(scope="module")
def leaf(leaf_pem: str) -> x509.Certificate:
    """The parsed leaf of `leaf_pem`."""
    return x509.load_pem_x509_certificate(leaf_pem.encode())


def test_ca_subject_is_the_common_name(ca: MintingCA) -> None:
    """The CA's subject holds just the given common name."""
    assert ca.certificate.subject == x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Unit Test CA")]
    )


def test_ca_is_self_signed(ca: MintingCA) -> None:
    """The CA's issuer is its subject and its signature verifies with its own key."""
    assert ca.certificate.issuer == ca.certificate.subject
    ca.certificate.verify_directly_issued_by(ca.certificate)


def test_ca_is_valid_from_a_day_before_for_ten_years(ca: MintingCA) -> None:
    """The CA is valid from one day before `now` to 3650 days after it."""
    assert (ca.certificate.not_valid_before_utc, ca.certificate.not_valid_after_utc) == (
        datetime(2026, 5, 31, 12, tzinfo=UTC),
        NOW + timedelta(days=3650),
    )


def test_ca_has_critical_basic_constraints_with_path_length_zero(ca: MintingCA) -> None:
    """The CA is marked CA:TRUE, pathlen 0, in a critical extension."""
    ext = ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert (ext.critical, ext.value) == (True, x509.BasicConstraints(ca=True, path_length=0))


def test_ca_key_is_p256(ca: MintingCA) -> None:
    """The CA key is ECDSA on P-256 and matches the certificate."""
    public = ca.certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert (public.curve.name, public == ca.key.public_key()) == ("secp256r1", True)


def test_ca_pem_is_its_certificate_in_pem(ca: MintingCA) -> None:
    """MintingCA.pem is the PEM encoding of the CA certificate."""
    assert ca.pem == ca.certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_each_ca_gets_its_own_key_and_serial() -> None:
    """Two CAs minted at the same instant differ in key and serial."""
    first, second = make_ca("A", NOW), make_ca("A", NOW)
    assert (
        first.certificate.serial_number != second.certificate.serial_number,
        first.key.public_key() != second.key.public_key(),
    ) == (True, True)


def test_leaf_pem_is_leaf_then_ca(ca: MintingCA, leaf_pem: str) -> None:
    """The minted PEM holds two certificates, the leaf first and the CA's PEM last."""
    certs = split_pem_chain(leaf_pem)
    assert (len(certs), certs[1] == ca.certificate, leaf_pem.endswith(ca.pem)) == (2, True, True)


def test_leaf_is_signed_by_the_ca(ca: MintingCA, leaf: x509.Certificate) -> None:
    """The leaf names the CA as issuer and its signature verifies with the CA key."""
    assert leaf.issuer == ca.certificate.subject
    leaf.verify_directly_issued_by(ca.certificate)


def test_leaf_has_common_name(leaf: x509.Certificate) -> None:
    """The leaf's subject is the given common name."""
    assert leaf.subject.rfc4514_string() == "CN=api.example.com"


def test_leaf_has_dns_sans_in_order(leaf: x509.Certificate) -> None:
    """The leaf carries a non-critical SAN extension with the given DNS names, in order."""
    ext = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert (ext.critical, ext.value.get_values_for_type(x509.DNSName)) == (
        False,
        ["api.example.com", "www.example.com"],
    )


def test_leaf_is_for_server_auth(leaf: x509.Certificate) -> None:
    """The leaf's extended key usage is serverAuth only, non-critical."""
    ext = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert (ext.critical, list(ext.value)) == (False, [ExtendedKeyUsageOID.SERVER_AUTH])


def test_leaf_has_the_chosen_dates(leaf: x509.Certificate) -> None:
    """The leaf is valid exactly from `not_before` to `not_after`."""
    assert (leaf.not_valid_before_utc, leaf.not_valid_after_utc) == (NOT_BEFORE, NOT_AFTER)


def test_leaf_may_be_already_expired(ca: MintingCA) -> None:
    """Dates in the past are honoured, for demo estates with expired certificates."""
    pem = mint_leaf(
        ca,
        common_name="old.example.com",
        sans=["old.example.com"],
        not_before=NOW - timedelta(days=100),
        not_after=NOW - timedelta(days=10),
    )
    facts, _ = read_pem(pem)
    assert facts.not_after == datetime(2026, 5, 22, 12, tzinfo=UTC)


def test_leaf_is_not_a_ca(leaf: x509.Certificate) -> None:
    """The leaf carries no basic constraints extension."""
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.BasicConstraints)


def test_leaf_key_is_fresh_p256(ca: MintingCA, leaf: x509.Certificate) -> None:
    """The leaf has its own P-256 key, not the CA's."""
    public = leaf.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert (public.curve.name, public == ca.key.public_key()) == ("secp256r1", False)


def test_leaf_facts_read_back(ca: MintingCA, leaf_pem: str) -> None:
    """The facts read from a minted leaf are the ones it was minted with."""
    facts, _ = read_pem(leaf_pem)
    assert (
        facts.common_name,
        facts.sans,
        facts.issuer_dn,
        facts.key_algorithm,
        facts.key_size,
        facts.is_ca,
    ) == (
        "api.example.com",
        ("api.example.com", "www.example.com"),
        "CN=Unit Test CA",
        "ECDSA",
        256,
        False,
    )


def test_leaf_without_sans_has_no_empty_san_extension() -> None:
    """RFC 5280 forbids an empty SAN extension, so none is added."""
    ca = make_ca("CA", NOW)
    pem = mint_leaf(ca, common_name="x", sans=[], not_before=NOW, not_after=NOW + timedelta(days=1))
    leaf = x509.load_pem_x509_certificate(pem.encode())
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
