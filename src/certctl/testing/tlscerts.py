"""Server certificates with their keys, made with the openssl CLI, for deployment tests."""

from __future__ import annotations

import itertools
import subprocess
from dataclasses import dataclass
from pathlib import Path

from certctl.testing.daemons import require_binary

OPENSSL = "/usr/bin/openssl"
_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


@dataclass(frozen=True)
class ServerPair:
    """A leaf, the chain above it and its private key, all PEM."""

    cert_pem: str
    chain_pem: str
    key_pem: str

    @property
    def fullchain_pem(self) -> str:
        """Leaf then chain, as nginx and Apache read it."""
        return self.cert_pem + self.chain_pem

    @property
    def combined_pem(self) -> str:
        """Leaf, chain and key in one file, as HAProxy reads it."""
        return self.cert_pem + self.chain_pem + self.key_pem


class OpensslCA:
    """A throwaway P-256 CA in `workdir` that issues server leaves through `openssl req -CA`."""

    def __init__(self, workdir: Path, name: str = "certctl test CA") -> None:
        require_binary(OPENSSL)
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = workdir / "ca.crt", workdir / "ca.key"
        self._counter = itertools.count(1)
        _openssl(
            "req", "-x509", *_EC, "-keyout", str(self.key), "-out", str(self.cert),
            "-subj", f"/CN={name}", "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip

    def issue(self, dns_name: str) -> ServerPair:
        """A new leaf (new key) for `dns_name`, signed by this CA."""
        n = next(self._counter)
        cert, key = self.workdir / f"leaf{n}.crt", self.workdir / f"leaf{n}.key"
        _openssl(
            "req", "-x509", *_EC, "-keyout", str(key), "-out", str(cert),
            "-subj", f"/CN={dns_name}", "-days", "7",
            "-CA", str(self.cert), "-CAkey", str(self.key),
            "-addext", f"subjectAltName=DNS:{dns_name}",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "extendedKeyUsage=serverAuth",
        )  # fmt: skip
        return ServerPair(cert.read_text(), self.cert.read_text(), key.read_text())


def _openssl(*args: str) -> None:
    subprocess.run(  # noqa: S603 - the openssl binary with test-made arguments
        [OPENSSL, *args], check=True, capture_output=True, timeout=30
    )
