"""Generating keys by spec, loading PEM private keys and serialising them to PKCS#8."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certctl.errors import InvalidRequest
from certctl.pki.keys import (
    KEY_SPECS,
    PrivateKey,
    describe_public_key,
    generate_key,
    key_matches_certificate,
    load_private_key,
    private_key_to_pem,
    signing_hash,
)
from certctl.pki.mint import make_ca

UNUSABLE = "not a usable PEM private key (PKCS#1, SEC1 or PKCS#8): "


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    """One P-256 key for the module."""
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    """One RSA-2048 key for the module."""
    return rsa.generate_private_key(65537, 2048)


def _pem(key: PrivateKey | ed448.Ed448PrivateKey, fmt: serialization.PrivateFormat) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def _same_key(left: PrivateKey, right: PrivateKey) -> bool:
    return private_key_to_pem(left) == private_key_to_pem(right)


@pytest.mark.parametrize(
    ("spec", "described"),
    [
        ("ECDSA-P256", ("ECDSA", 256)),
        ("ECDSA-P384", ("ECDSA", 384)),
        ("RSA-2048", ("RSA", 2048)),
        ("RSA-3072", ("RSA", 3072)),
        ("RSA-4096", ("RSA", 4096)),
        ("Ed25519", ("Ed25519", 256)),
    ],
)
def test_generate_key_makes_the_named_algorithm_and_size(
    spec: str, described: tuple[str, int]
) -> None:
    """Each spec name yields a key of that algorithm and size."""
    assert describe_public_key(generate_key(spec).public_key()) == described


def test_key_specs_lists_every_spec_in_profile_order() -> None:
    """The accepted spec names are listed in a stable order."""
    assert KEY_SPECS == ("ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096", "Ed25519")


def test_generated_keys_are_fresh() -> None:
    """Two generations of the same spec give different keys."""
    assert not _same_key(generate_key("ECDSA-P256"), generate_key("ECDSA-P256"))


def test_unknown_spec_is_refused_naming_the_field() -> None:
    """An unknown spec raises InvalidRequest on `key_spec` listing the allowed ones."""
    with pytest.raises(InvalidRequest) as caught:
        generate_key("RSA-1024")
    assert (caught.value.field, caught.value.detail) == (
        "key_spec",
        "unknown key spec 'RSA-1024'; allowed: ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, "
        "RSA-4096, Ed25519",
    )


def test_unknown_spec_error_uses_the_given_field() -> None:
    """The caller can name the field the spec came from."""
    with pytest.raises(InvalidRequest) as caught:
        generate_key("DSA", field="key_algorithm")
    assert caught.value.field == "key_algorithm"


@pytest.mark.parametrize(
    ("which", "fmt", "header"),
    [
        ("rsa", serialization.PrivateFormat.TraditionalOpenSSL, "RSA PRIVATE KEY"),
        ("ec", serialization.PrivateFormat.TraditionalOpenSSL, "EC PRIVATE KEY"),
        ("rsa", serialization.PrivateFormat.PKCS8, "PRIVATE KEY"),
        ("ec", serialization.PrivateFormat.PKCS8, "PRIVATE KEY"),
    ],
)
def test_load_private_key_reads_pkcs1_sec1_and_pkcs8(
    request: pytest.FixtureRequest, which: str, fmt: serialization.PrivateFormat, header: str
) -> None:
    """PKCS#1 (RSA), SEC1 (EC) and PKCS#8 PEM all load to the same key."""
    key: PrivateKey = request.getfixturevalue(f"{which}_key")
    pem = _pem(key, fmt)
    assert pem.startswith(f"-----BEGIN {header}-----\n")
    assert _same_key(load_private_key(pem), key)


def test_load_private_key_reads_openssl_output(tmp_path: Path) -> None:
    """A key written by `openssl genpkey` loads as that algorithm and size."""
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            "key.pem",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    key = load_private_key((tmp_path / "key.pem").read_text())
    assert describe_public_key(key.public_key()) == ("ECDSA", 384)


def test_ed25519_key_round_trips() -> None:
    """An Ed25519 key serialised to PKCS#8 loads back unchanged."""
    key = generate_key("Ed25519")
    assert _same_key(load_private_key(private_key_to_pem(key)), key)


def test_unencrypted_pem_is_pkcs8(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """Without a password the PEM is plain PKCS#8."""
    pem = private_key_to_pem(ec_key)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert pem.endswith("-----END PRIVATE KEY-----\n")


def test_encrypted_pem_round_trips(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """With a password the PEM is encrypted PKCS#8 and loads back with the same password."""
    pem = private_key_to_pem(ec_key, password="s3cret")
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert _same_key(load_private_key(pem, password="s3cret"), ec_key)


def test_openssl_decrypts_the_encrypted_pem(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    """`openssl pkey` opens the encrypted PKCS#8 with the password."""
    (tmp_path / "key.pem").write_text(private_key_to_pem(ec_key, password="s3cret"))
    result = subprocess.run(
        ["openssl", "pkey", "-in", "key.pem", "-passin", "pass:s3cret", "-noout"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_encrypted_key_without_password_is_refused(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """An encrypted key loaded without a password names the missing password."""
    with pytest.raises(InvalidRequest) as caught:
        load_private_key(private_key_to_pem(ec_key, password="s3cret"))
    assert (caught.value.field, caught.value.detail) == (
        "private_key_pem",
        "the private key is encrypted: a password is needed",
    )


def test_password_for_a_plain_key_is_refused(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A password given for an unencrypted key is reported as such."""
    with pytest.raises(InvalidRequest) as caught:
        load_private_key(private_key_to_pem(ec_key), password="s3cret")
    assert caught.value.detail == "a password was given but the private key is not encrypted"


def test_wrong_password_is_refused(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """A wrong password is an InvalidRequest on the key field."""
    with pytest.raises(InvalidRequest) as caught:
        load_private_key(private_key_to_pem(ec_key, password="s3cret"), password="wrong")
    assert (caught.value.field, caught.value.detail.startswith(UNUSABLE)) == (
        "private_key_pem",
        True,
    )


def test_garbage_is_refused_naming_the_given_field() -> None:
    """Text that is not a PEM key is refused on the field the caller names."""
    with pytest.raises(InvalidRequest) as caught:
        load_private_key("hello", field="ca_private_key_pem")
    assert (caught.value.field, caught.value.detail.startswith(UNUSABLE)) == (
        "ca_private_key_pem",
        True,
    )


def test_non_unicode_text_is_refused() -> None:
    """A string that cannot be encoded (lone surrogate) is refused, not crashed on."""
    with pytest.raises(InvalidRequest) as caught:
        load_private_key("\udc80")
    assert (caught.value.field, caught.value.detail) == (
        "private_key_pem",
        "PEM text is not valid Unicode",
    )


def test_unsupported_key_type_is_refused() -> None:
    """An Ed448 key parses but is refused: certctl signs with RSA, ECDSA or Ed25519."""
    pem = _pem(ed448.Ed448PrivateKey.generate(), serialization.PrivateFormat.PKCS8)
    with pytest.raises(InvalidRequest) as caught:
        load_private_key(pem)
    assert caught.value.detail == (
        "unsupported private key type Ed448PrivateKey; use RSA, ECDSA or Ed25519"
    )


@pytest.mark.parametrize(
    ("make", "described"),
    [
        (lambda: ed448.Ed448PrivateKey.generate().public_key(), ("Ed448", 456)),
        (lambda: dsa.generate_private_key(1024).public_key(), ("DSA", 1024)),
        (lambda: x25519.X25519PrivateKey.generate().public_key(), ("unknown", 0)),
        (lambda: ed25519.Ed25519PrivateKey.generate().public_key(), ("Ed25519", 256)),
    ],
)
def test_describe_public_key_names_other_algorithms(
    make: Callable[[], PublicKeyTypes], described: tuple[str, int]
) -> None:
    """Keys certctl does not sign with are still named, unknown ones as ("unknown", 0)."""
    assert describe_public_key(make()) == described


@pytest.mark.parametrize(
    ("spec_or_curve", "digest"),
    [
        ("Ed25519", None),
        ("ECDSA-P256", "sha256"),
        ("ECDSA-P384", "sha384"),
        ("RSA-2048", "sha256"),
    ],
)
def test_signing_hash_matches_the_key(spec_or_curve: str, digest: str | None) -> None:
    """Ed25519 signs without a digest, P-384 with SHA-384, P-256 and RSA with SHA-256."""
    algorithm = signing_hash(generate_key(spec_or_curve))
    assert (algorithm.name if algorithm else None) == digest


def test_signing_hash_for_p521_is_sha512() -> None:
    """RFC 5480 pairs P-521 with SHA-512."""
    assert isinstance(signing_hash(ec.generate_private_key(ec.SECP521R1())), hashes.SHA512)


def test_a_key_matches_only_its_own_certificate() -> None:
    """The CA's key matches the CA certificate; a fresh key does not."""
    ca = make_ca("Match CA", datetime(2026, 6, 1, tzinfo=UTC))
    assert key_matches_certificate(private_key_to_pem(ca.key), ca.pem) is True
    other = private_key_to_pem(generate_key("ECDSA-P256"))
    assert key_matches_certificate(other, ca.pem) is False
