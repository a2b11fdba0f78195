"""AES-256-GCM sealing of secrets at rest: format, round trip and refusal of bad input (C10)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from certctl.errors import ConfigurationError
from certctl.pki.sealing import Sealer, derive_key

PASSPHRASE = "unit-test-passphrase"
WRONG_KEY = (
    "a stored secret cannot be decrypted: CERTCTL_CONFIG_ENCRYPTION_KEY differs "
    "from the key it was sealed with"
)


@pytest.fixture(scope="module")
def sealer() -> Sealer:
    """One sealer per module, so the scrypt derivation runs once."""
    return Sealer(PASSPHRASE)


def _raw(token: str) -> bytes:
    return base64.b64decode(token)


def _token(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_derive_key_is_scrypt_with_fixed_salt() -> None:
    """The key is scrypt(passphrase, salt, N=2**14, r=8, p=1) into 32 bytes."""
    expected = hashlib.scrypt(
        PASSPHRASE.encode(), salt=b"certctl/config-encryption/v1", n=2**14, r=8, p=1, dklen=32
    )
    assert derive_key(PASSPHRASE) == expected


def test_derive_key_differs_per_passphrase() -> None:
    """Different passphrases give different keys."""
    assert derive_key("passphrase-one") != derive_key("passphrase-two")


@pytest.mark.parametrize(
    "plaintext", [b"", b"s3cret", bytes(range(256)), b'{"api_key": "k"}' * 1000]
)
def test_seal_then_open_round_trips(sealer: Sealer, plaintext: bytes) -> None:
    """Opening a sealed value returns the original bytes."""
    assert sealer.open(sealer.seal(plaintext)) == plaintext


def test_round_trip_across_sealer_instances(sealer: Sealer) -> None:
    """A value sealed by one sealer opens with another built from the same passphrase."""
    assert Sealer(PASSPHRASE).open(sealer.seal(b"shared")) == b"shared"


def test_sealed_token_is_version_nonce_ciphertext_tag(sealer: Sealer) -> None:
    """The token is base64 of version 0x01, a 12-byte nonce, then ciphertext and 16-byte tag."""
    raw = _raw(sealer.seal(b"hello"))
    assert (raw[:1], len(raw)) == (b"\x01", 1 + 12 + 5 + 16)


def test_sealed_token_decrypts_with_standard_aes_gcm(sealer: Sealer) -> None:
    """The ciphertext is plain AES-256-GCM under the derived key with the fixed AAD."""
    raw = _raw(sealer.seal(b"interop"))
    aead = AESGCM(derive_key(PASSPHRASE))
    assert aead.decrypt(raw[1:13], raw[13:], b"certctl-sealed-secret") == b"interop"


def test_each_seal_uses_a_fresh_nonce(sealer: Sealer) -> None:
    """Sealing the same plaintext twice gives different nonces and different tokens."""
    first, second = _raw(sealer.seal(b"same")), _raw(sealer.seal(b"same"))
    assert (first[1:13] != second[1:13], first != second) == (True, True)


def test_wrong_key_is_a_configuration_error(sealer: Sealer) -> None:
    """Opening with a sealer built from another passphrase raises ConfigurationError."""
    token = sealer.seal(b"s3cret")
    with pytest.raises(ConfigurationError) as caught:
        Sealer("another-passphrase").open(token)
    assert caught.value.detail == WRONG_KEY


@pytest.mark.parametrize(
    ("where", "index"),
    [("nonce", 1), ("nonce end", 12), ("ciphertext", 13), ("tag", -1), ("tag start", -16)],
)
def test_tampered_token_is_a_configuration_error(sealer: Sealer, where: str, index: int) -> None:
    """Flipping one bit of the nonce, ciphertext or tag is detected as ConfigurationError."""
    raw = bytearray(_raw(sealer.seal(b"s3cret")))
    raw[index] ^= 0x01
    with pytest.raises(ConfigurationError) as caught:
        sealer.open(_token(bytes(raw)))
    assert caught.value.detail == WRONG_KEY


def test_appended_bytes_are_a_configuration_error(sealer: Sealer) -> None:
    """Bytes appended after the tag make the token fail authentication."""
    with pytest.raises(ConfigurationError):
        sealer.open(_token(_raw(sealer.seal(b"s3cret")) + b"\x00"))


@pytest.mark.parametrize("version", [b"\x00", b"\x02", b"\xff"])
def test_unknown_version_byte_is_a_configuration_error(sealer: Sealer, version: bytes) -> None:
    """A token whose first byte is not version 1 is refused before decryption."""
    raw = _raw(sealer.seal(b"s3cret"))
    with pytest.raises(ConfigurationError) as caught:
        sealer.open(_token(version + raw[1:]))
    assert caught.value.detail == "sealed secret has an unknown format version"


def test_empty_token_is_a_configuration_error(sealer: Sealer) -> None:
    """An empty token has no version byte and is refused as an unknown format."""
    with pytest.raises(ConfigurationError) as caught:
        sealer.open("")
    assert caught.value.detail == "sealed secret has an unknown format version"


def test_token_truncated_inside_nonce_is_a_configuration_error(sealer: Sealer) -> None:
    """A token cut short after the version byte is refused as a configuration error."""
    with pytest.raises(ConfigurationError):
        sealer.open(_token(b"\x01\x00\x00"))


def test_token_that_is_not_base64_is_a_configuration_error(sealer: Sealer) -> None:
    """A stored value that is not base64 is refused as a configuration error."""
    with pytest.raises(ConfigurationError):
        sealer.open("not base64!")
