"""What each configured file of a target holds: certificate, chain, key or all three (C7)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from certctl.domain.targets import TargetConfig
from certctl.errors import InvalidRequest
from certctl.pki.facts import first_certificate_der

# Files holding a private key are created 0600; certificate-only files 0644.
KEY_FILE_MODE = 0o600
CERT_FILE_MODE = 0o644
_CERT_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n.+?-----END CERTIFICATE-----", re.DOTALL)


@dataclass(frozen=True)
class DeployBundle:
    """What is deployed: the leaf, its chain (issuer first, may be empty) and the private key.

    A `cert_pem` holding the chain after the leaf is accepted too: its extra certificates are
    put in front of `chain_pem`.
    """

    cert_pem: str
    chain_pem: str
    key_pem: str


@dataclass(frozen=True)
class PlannedFile:
    """One file to put in place: its config key, path, bytes and default mode."""

    key: str
    path: str
    data: bytes
    default_mode: int

    @property
    def sha256(self) -> str:
        """Digest of the would-be contents, compared with the file on disk for the no-op."""
        return hashlib.sha256(self.data).hexdigest()


def leaf_sha256(bundle: DeployBundle) -> str:
    """The deployed leaf's fingerprint, in the format the TLS probe reports."""
    try:
        return hashlib.sha256(first_certificate_der(bundle.cert_pem)).hexdigest()
    except InvalidRequest as exc:
        raise ValueError(f"the certificate does not parse: {exc.detail}") from exc


def plan_files(config: TargetConfig, bundle: DeployBundle) -> list[PlannedFile]:
    """The files a deploy writes, in a fixed order (key files first).

    The certificate file carries the chain after the leaf unless `chain_path` asks for it
    separately, as nginx, Apache 2.4.8+, Postfix and Dovecot all read a leaf-first chain
    (RFC 8446 §4.4.2 order); HAProxy's combined PEM holds leaf, chain and key.
    """
    if "PRIVATE KEY-----" not in bundle.key_pem:
        raise ValueError("the bundle holds no PEM private key")
    leaf, extra = _split_leaf(bundle.cert_pem)
    chain, key = _ended(extra + "\n" + bundle.chain_pem), _ended(bundle.key_pem)
    contents = {
        "key_path": (key, KEY_FILE_MODE),
        "pem_path": (leaf + chain + key, KEY_FILE_MODE),
        "cert_path": (leaf if config.chain_path else leaf + chain, CERT_FILE_MODE),
        "chain_path": (chain, CERT_FILE_MODE),
    }
    paths = config.paths
    return [
        PlannedFile(name, paths[name], text.encode(), mode)
        for name, (text, mode) in contents.items()
        if name in paths
    ]


def _split_leaf(cert_pem: str) -> tuple[str, str]:
    """The first certificate block, and any blocks after it (a chain sent along with the leaf)."""
    blocks = _CERT_BLOCK.findall(cert_pem)
    if not blocks:
        return _ended(cert_pem), ""
    return blocks[0] + "\n", "\n".join(blocks[1:])


def _ended(pem: str) -> str:
    """PEM blocks are concatenated, so each part must end with a line break."""
    text = pem.strip()
    return text + "\n" if text else ""
