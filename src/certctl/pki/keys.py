"""Private keys: generate by spec name, load from PEM, serialise to PKCS#8, describe (C5)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certctl.errors import InvalidRequest

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
"""The key types certctl signs with (CA, OCSP responder, server-mode leaves)."""

SigningHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None
"""The digests certctl signs with; None for Ed25519, which hashes internally."""

_SUPPORTED = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
_RSA_EXPONENT = 65537

_GENERATORS: Mapping[str, Callable[[], PrivateKey]] = {
    "ECDSA-P256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ECDSA-P384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "RSA-2048": lambda: rsa.generate_private_key(_RSA_EXPONENT, 2048),
    "RSA-3072": lambda: rsa.generate_private_key(_RSA_EXPONENT, 3072),
    "RSA-4096": lambda: rsa.generate_private_key(_RSA_EXPONENT, 4096),
    "Ed25519": ed25519.Ed25519PrivateKey.generate,
}
KEY_SPECS: tuple[str, ...] = tuple(_GENERATORS)
"""Spec names accepted by `generate_key`, in the order profiles list them."""


def generate_key(spec: str, *, field: str = "key_spec") -> PrivateKey:
    """Generate a fresh private key; an unknown spec is refused naming `field`."""
    try:
        generator = _GENERATORS[spec]
    except KeyError:
        allowed = ", ".join(KEY_SPECS)
        raise InvalidRequest(
            f"unknown key spec {spec!r}; allowed: {allowed}", field=field
        ) from None
    return generator()


def load_private_key(
    pem: str, *, password: str | None = None, field: str = "private_key_pem"
) -> PrivateKey:
    """Load a PEM private key (PKCS#1, SEC1 or PKCS#8, optionally encrypted)."""
    try:
        data = pem.encode()
    except UnicodeError as exc:
        raise InvalidRequest("PEM text is not valid Unicode", field=field) from exc
    secret = password.encode() if password is not None else None
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except TypeError as exc:
        raise InvalidRequest(_password_mismatch(secret), field=field) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidRequest(
            f"not a usable PEM private key (PKCS#1, SEC1 or PKCS#8): {exc}", field=field
        ) from exc
    if not isinstance(key, _SUPPORTED):
        raise InvalidRequest(
            f"unsupported private key type {type(key).__name__}; use RSA, ECDSA or Ed25519",
            field=field,
        )
    return key


def _password_mismatch(secret: bytes | None) -> str:
    # cryptography raises TypeError exactly when encryption and password disagree.
    if secret is None:
        return "the private key is encrypted: a password is needed"
    return "a password was given but the private key is not encrypted"


def private_key_to_pem(key: PrivateKey, *, password: str | None = None) -> str:
    """Serialise to PKCS#8 PEM, encrypted with the best available cipher when given a password."""
    encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    if password is not None:
        encryption = serialization.BestAvailableEncryption(password.encode())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def describe_public_key(key: PublicKeyTypes) -> tuple[str, int]:
    """Name a public key's algorithm as profiles do, with its size in bits."""
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ECDSA", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return "unknown", 0


def signing_hash(key: PrivateKey) -> SigningHash:
    """The digest to sign with: none for Ed25519, matched to the curve for ECDSA.

    RFC 5480 section 4 pairs P-384 with SHA-384 and P-521 with SHA-512; everything else
    (P-256, RSA) signs with SHA-256.
    """
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA512() if key.curve.key_size > 384 else hashes.SHA384()
    return hashes.SHA256()


def key_matches_certificate(key_pem: str, cert_pem: str) -> bool:
    """Tell whether a PEM private key belongs to a PEM certificate (same public key)."""
    key = load_private_key(key_pem)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki)
