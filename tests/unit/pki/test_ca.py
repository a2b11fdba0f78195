"""The local CA: creating a self-signed root and loading an existing CA from PEM."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from certctl.errors import InvalidRequest
from certctl.pki.ca import LocalCA, create_root, load_sub_ca
from certctl.pki.keys import PrivateKey, describe_public_key, private_key_to_pem
from certctl.pki.mint import make_ca

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EPOCH = str(int(NOW.timestamp()))
CERT_FIELD = "ca_certificate_pem"
KEY_FIELD = "ca_private_key_pem"


@pytest.fixture(scope="module")
def root() -> LocalCA:
    """One P-256 root for the module, valid for a year."""
    return create_root("certctl Test Root", now=NOW, validity_days=365)


@pytest.fixture(scope="module")
def sub_key() -> ec.EllipticCurvePrivateKey:
    """The key of sub-CAs built in this module."""
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(*, cert_sign: bool = True, crl_sign: bool = True) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _sub_ca(
    root: LocalCA,
    key: PrivateKey,
    *,
    ca: bool | None = True,
    usage: x509.KeyUsage | None = None,
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = NOW + timedelta(days=100),
) -> x509.Certificate:
    """A certificate for `key` signed by `root`; `ca=None` leaves out BasicConstraints."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("certctl Test Sub-CA"))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca, None), critical=True)
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    return builder.sign(root.key, hashes.SHA256())


def _pem(*certs: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


T = TypeVar("T", bound=x509.ExtensionType)


def _ext(cert: x509.Certificate, kind: type[T]) -> x509.Extension[T]:
    return cert.extensions.get_extension_for_class(kind)


# --- create_root ---------------------------------------------------------------------------


def test_root_subject_is_the_common_name(root: LocalCA) -> None:
    """The root's subject holds just the common name."""
    assert root.certificate.subject == _name("certctl Test Root")


def test_root_is_self_signed(root: LocalCA) -> None:
    """The root's issuer is its subject and its own key verifies its signature."""
    assert root.certificate.issuer == root.certificate.subject
    root.certificate.verify_directly_issued_by(root.certificate)


def test_root_starts_a_minute_early_and_lasts_validity_days(root: LocalCA) -> None:
    """Validity runs from `now` minus one minute (clock skew) to `now` plus validity_days."""
    assert (root.certificate.not_valid_before_utc, root.certificate.not_valid_after_utc) == (
        datetime(2026, 6, 1, 11, 59, tzinfo=UTC),
        datetime(2027, 6, 1, 12, tzinfo=UTC),
    )


def test_root_defaults_to_p256_for_ten_years() -> None:
    """Without a key spec or validity the root is ECDSA P-256 valid for 3650 days."""
    ca = create_root("Default Root", now=NOW)
    assert (describe_public_key(ca.key.public_key()), ca.certificate.not_valid_after_utc) == (
        ("ECDSA", 256),
        NOW + timedelta(days=3650),
    )


def test_root_basic_constraints_are_a_critical_ca(root: LocalCA) -> None:
    """BasicConstraints is critical, CA:TRUE, without a path length limit."""
    ext = _ext(root.certificate, x509.BasicConstraints)
    assert (ext.critical, ext.value) == (True, x509.BasicConstraints(ca=True, path_length=None))


def test_root_key_usage_is_certificate_and_crl_signing(root: LocalCA) -> None:
    """KeyUsage is critical with exactly keyCertSign and cRLSign."""
    ext = _ext(root.certificate, x509.KeyUsage)
    assert (ext.critical, ext.value) == (True, _usage())


def test_root_subject_key_identifier_comes_from_its_key(root: LocalCA) -> None:
    """The SKI is the RFC 5280 method-1 hash of the root's public key."""
    ext = _ext(root.certificate, x509.SubjectKeyIdentifier)
    assert ext.value == x509.SubjectKeyIdentifier.from_public_key(root.key.public_key())


@pytest.mark.parametrize(
    ("spec", "signature"),
    [
        ("ECDSA-P256", SignatureAlgorithmOID.ECDSA_WITH_SHA256),
        ("ECDSA-P384", SignatureAlgorithmOID.ECDSA_WITH_SHA384),
        ("RSA-2048", SignatureAlgorithmOID.RSA_WITH_SHA256),
        ("Ed25519", SignatureAlgorithmOID.ED25519),
    ],
)
def test_root_signs_with_the_algorithm_of_its_key(
    spec: str, signature: x509.ObjectIdentifier
) -> None:
    """The signature algorithm follows the key spec (curve-matched digest for ECDSA)."""
    assert create_root("Root", spec, now=NOW).certificate.signature_algorithm_oid == signature


@pytest.mark.parametrize("spec", ["ECDSA-P256", "RSA-2048", "Ed25519"])
def test_openssl_accepts_the_root(tmp_path: Path, spec: str) -> None:
    """`openssl verify` trusts the root as its own anchor at `now`."""
    (tmp_path / "ca.pem").write_text(create_root("Root", spec, now=NOW).certificate_pem)
    result = subprocess.run(
        ["openssl", "verify", "-attime", EPOCH, "-CAfile", "ca.pem", "ca.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "ca.pem: OK\n")


@pytest.mark.parametrize("common_name", ["", "x" * 65])
def test_root_common_name_must_be_1_to_64_characters(common_name: str) -> None:
    """An empty or over-long common name is refused on `common_name`."""
    with pytest.raises(InvalidRequest) as caught:
        create_root(common_name, now=NOW)
    assert (caught.value.field, caught.value.detail) == (
        "common_name",
        "common name must be 1 to 64 characters",
    )


def test_root_validity_must_be_a_day_or_more() -> None:
    """A validity of zero days is refused on `validity_days`."""
    with pytest.raises(InvalidRequest) as caught:
        create_root("Root", now=NOW, validity_days=0)
    assert (caught.value.field, caught.value.detail) == (
        "validity_days",
        "validity must be at least one day",
    )


def test_root_unknown_key_spec_is_refused() -> None:
    """An unknown key spec is refused on `key_spec`."""
    with pytest.raises(InvalidRequest) as caught:
        create_root("Root", "RSA-1024", now=NOW)
    assert caught.value.field == "key_spec"


def test_root_chain_is_its_certificate(root: LocalCA) -> None:
    """A root has no parents: its chain and chain PEM are its own certificate."""
    assert (root.chain, root.chain_pem) == ((root.certificate,), root.certificate_pem)


def test_root_signing_hash_is_sha256_for_p256(root: LocalCA) -> None:
    """A P-256 CA signs with SHA-256."""
    assert isinstance(root.signing_hash, hashes.SHA256)


def test_authority_key_identifier_reuses_the_ca_ski(root: LocalCA) -> None:
    """What the CA signs names it by its own SKI."""
    ski = _ext(root.certificate, x509.SubjectKeyIdentifier).value
    assert root.authority_key_identifier.key_identifier == ski.digest


def test_authority_key_identifier_without_ski_hashes_the_key() -> None:
    """A CA certificate without SKI is named by the hash of its public key."""
    minted = make_ca("No SKI CA", NOW)
    ca = LocalCA(certificate=minted.certificate, key=minted.key)
    expected = x509.SubjectKeyIdentifier.from_public_key(minted.key.public_key()).digest
    assert ca.authority_key_identifier.key_identifier == expected


# --- load_sub_ca ---------------------------------------------------------------------------


def test_load_sub_ca_keeps_the_chain_above_it(
    root: LocalCA, sub_key: ec.EllipticCurvePrivateKey
) -> None:
    """A sub-CA bundle loads with the sub-CA first and its root as parent."""
    sub = _sub_ca(root, sub_key, usage=_usage())
    ca = load_sub_ca(_pem(sub, root.certificate), private_key_to_pem(sub_key), NOW)
    assert (ca.certificate, ca.parents, ca.chain_pem) == (
        sub,
        (root.certificate,),
        _pem(sub, root.certificate),
    )


def test_load_sub_ca_reloads_a_root_with_an_encrypted_key(root: LocalCA) -> None:
    """A root saved as chain PEM and encrypted key loads back as the same CA."""
    key_pem = private_key_to_pem(root.key, password="pw")
    ca = load_sub_ca(root.chain_pem, key_pem, NOW, password="pw")
    assert (ca.certificate, ca.parents, private_key_to_pem(ca.key)) == (
        root.certificate,
        (),
        private_key_to_pem(root.key),
    )


LATER = NOW + timedelta(days=100)
REFUSALS: list[tuple[str, dict[str, object], str]] = [
    (
        "leaf",
        {"ca": False, "usage": _usage()},
        "the certificate is not a CA: BasicConstraints CA:TRUE is missing",
    ),
    (
        "no-basic-constraints",
        {"ca": None, "usage": _usage()},
        "the certificate is not a CA: BasicConstraints CA:TRUE is missing",
    ),
    ("no-key-usage", {}, "the CA certificate's KeyUsage lacks keyCertSign"),
    (
        "no-cert-sign",
        {"usage": _usage(cert_sign=False)},
        "the CA certificate's KeyUsage lacks keyCertSign",
    ),
    (
        "no-crl-sign",
        {"usage": _usage(crl_sign=False)},
        "the CA certificate's KeyUsage lacks cRLSign: its CRLs would be rejected",
    ),
    (
        "expired",
        {"usage": _usage(), "not_after": NOW - timedelta(seconds=1)},
        "the CA certificate expired on 2026-06-01T11:59:59+00:00",
    ),
    (
        "not-yet-valid",
        {"usage": _usage(), "not_before": NOW + timedelta(seconds=1)},
        "the CA certificate is not valid before 2026-06-01T12:00:01+00:00",
    ),
]


@pytest.mark.parametrize(
    ("options", "detail"),
    [(options, detail) for _, options, detail in REFUSALS],
    ids=[case for case, _, _ in REFUSALS],
)
def test_load_sub_ca_refuses_an_unusable_certificate(
    root: LocalCA, sub_key: ec.EllipticCurvePrivateKey, options: dict[str, object], detail: str
) -> None:
    """Not a CA, no keyCertSign or cRLSign, expired or not yet valid: refused on the cert field."""
    sub = _sub_ca(root, sub_key, **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest) as caught:
        load_sub_ca(_pem(sub), private_key_to_pem(sub_key), NOW)
    assert (caught.value.field, caught.value.detail) == (CERT_FIELD, detail)


def test_load_sub_ca_refuses_a_key_of_another_certificate(
    root: LocalCA, sub_key: ec.EllipticCurvePrivateKey
) -> None:
    """A key that does not match the CA certificate is refused on the key field."""
    sub = _sub_ca(root, sub_key, usage=_usage())
    with pytest.raises(InvalidRequest) as caught:
        load_sub_ca(_pem(sub), private_key_to_pem(root.key), NOW)
    assert (caught.value.field, caught.value.detail) == (
        KEY_FIELD,
        "the private key does not match the CA certificate",
    )


def test_load_sub_ca_refuses_a_bundle_whose_links_do_not_chain(
    sub_key: ec.EllipticCurvePrivateKey,
) -> None:
    """A parent in the bundle that did not sign the certificate before it is refused."""
    signer = create_root("Signer Root", now=NOW)
    stranger = create_root("Stranger Root", now=NOW)
    sub = _sub_ca(signer, sub_key, usage=_usage())
    with pytest.raises(InvalidRequest) as caught:
        load_sub_ca(_pem(sub, stranger.certificate), private_key_to_pem(sub_key), NOW)
    assert (caught.value.field, caught.value.detail) == (
        CERT_FIELD,
        "certificate #1 of the bundle is not signed by certificate #2: "
        "Issuer certificate subject does not match certificate issuer.",
    )


def test_load_sub_ca_refuses_undecodable_extensions(root: LocalCA) -> None:
    """A certificate with two BasicConstraints extensions is refused, not crashed on."""
    der = root.certificate.public_bytes(serialization.Encoding.DER)
    key_usage_oid, basic_constraints_oid = bytes.fromhex("0603551d0f"), bytes.fromhex("0603551d13")
    assert der.count(key_usage_oid) == 1
    twice = x509.load_der_x509_certificate(der.replace(key_usage_oid, basic_constraints_oid))
    with pytest.raises(InvalidRequest) as caught:
        load_sub_ca(_pem(twice), private_key_to_pem(root.key), NOW)
    assert (caught.value.field, caught.value.detail.split(":")[0]) == (
        CERT_FIELD,
        "the CA certificate's extensions do not decode",
    )


@pytest.mark.parametrize(
    ("make_args", "field"),
    [
        (lambda ca: ("not a certificate", private_key_to_pem(ca.key)), CERT_FIELD),
        (lambda ca: (ca.chain_pem, "not a key"), KEY_FIELD),
    ],
)
def test_load_sub_ca_refuses_garbage_naming_the_field(
    root: LocalCA, make_args: Callable[[LocalCA], tuple[str, str]], field: str
) -> None:
    """Unparseable certificate or key PEM is refused on its own field."""
    with pytest.raises(InvalidRequest) as caught:
        load_sub_ca(*make_args(root), NOW)
    assert caught.value.field == field
