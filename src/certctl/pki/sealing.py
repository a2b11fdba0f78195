"""AES-256-GCM sealing of secrets at rest (C10), keyed from CERTCTL_CONFIG_ENCRYPTION_KEY."""

from __future__ import annotations

import base64
import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from certctl.errors import ConfigurationError

_VERSION = b"\x01"
_SALT = b"certctl/config-encryption/v1"
_AAD = b"certctl-sealed-secret"


@functools.lru_cache(maxsize=8)
def derive_key(passphrase: str) -> bytes:
    """Stretch the configured passphrase into a 256-bit key (scrypt, cached per process)."""
    kdf = Scrypt(salt=_SALT, length=32, n=2**14, r=8, p=1)
    return kdf.derive(passphrase.encode())


class Sealer:
    """Encrypts and decrypts small secrets with AES-256-GCM and a random 96-bit nonce."""

    def __init__(self, passphrase: str) -> None:
        self._aead = AESGCM(derive_key(passphrase))

    def seal(self, plaintext: bytes) -> str:
        """Return `base64(version | nonce | ciphertext+tag)`."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext, _AAD)
        return base64.b64encode(_VERSION + nonce + sealed).decode()

    def open(self, token: str) -> bytes:
        """Decrypt a sealed value; a wrong key or tampering is a configuration error."""
        try:
            raw = base64.b64decode(token, validate=True)
        except ValueError as exc:
            raise ConfigurationError("sealed secret is not valid base64") from exc
        if raw[:1] != _VERSION:
            raise ConfigurationError("sealed secret has an unknown format version")
        if len(raw) < 1 + 12 + 16:
            raise ConfigurationError("sealed secret is truncated")
        try:
            return self._aead.decrypt(raw[1:13], raw[13:], _AAD)
        except InvalidTag as exc:
            raise ConfigurationError(
                "a stored secret cannot be decrypted: CERTCTL_CONFIG_ENCRYPTION_KEY differs "
                "from the key it was sealed with"
            ) from exc
