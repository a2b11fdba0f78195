"""The agent's key directory: private keys made on this host, 0600 files in a 0700 directory.

A key is saved before its CSR leaves the host, named by certificate and job, and found again
for a deployment by matching the certificate's public key, so a renewal's new key never
replaces the key of the version still deployed.
"""

from __future__ import annotations

from pathlib import Path

from certctl.agent.state import private_dir, write_private
from certctl.pki.keys import key_matches_certificate

KEY_SUFFIX = ".key.pem"


class KeyMissing(Exception):
    """No key in the key directory matches the certificate."""

    def __init__(self, certificate_id: str) -> None:
        super().__init__(f"no private key in the key dir matches certificate {certificate_id!r}")
        self.certificate_id = certificate_id


class KeyStore:
    """Private keys of the certificates this agent requested."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = private_dir(key_dir)

    def save(self, certificate_id: str, job_id: str, key_pem: str) -> Path:
        """Store a new key for a certificate's issuing job (0600)."""
        path = self.key_dir / f"{_safe(certificate_id)}.{_safe(job_id)}{KEY_SUFFIX}"
        write_private(path, key_pem)
        return path

    def for_certificate(self, certificate_id: str, cert_pem: str) -> str:
        """The key of this certificate (the one whose public key it carries), newest first."""
        candidates = sorted(
            self.key_dir.glob(f"{_safe(certificate_id)}.*{KEY_SUFFIX}"),
            key=lambda p: p.stat().st_mtime_ns,
            reverse=True,
        )
        for path in candidates:
            key_pem = path.read_text()
            if key_matches_certificate(key_pem, cert_pem):
                return key_pem
        raise KeyMissing(certificate_id)


def _safe(value: str) -> str:
    """An id as a file name part: anything but letters, digits, '-' and '_' becomes '_'."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in value)
