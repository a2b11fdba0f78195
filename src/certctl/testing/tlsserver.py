"""Certificates made with the openssl CLI and a TLS server on 127.0.0.1:0 serving them (C8 tests)."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


def openssl(*args: str, cwd: Path) -> bytes:
    """Run the openssl CLI in `cwd`; a failure raises with its stderr."""
    argv = ["openssl", *args]
    done = subprocess.run(argv, cwd=cwd, check=True, capture_output=True)  # noqa: S603 - the openssl CLI
    return done.stdout


@dataclass(frozen=True)
class Issued:
    """A leaf made by `OpensslCA.issue`: its PEM, key and chain (leaf + root) files."""

    cert: Path
    key: Path
    chain: Path


class OpensslCA:
    """A throwaway root CA (EC P-256) in a directory, issuing leaves with the openssl CLI."""

    def __init__(self, directory: Path, name: str = "Discovery Test Root") -> None:
        self.dir = directory
        self.root = directory / "root.pem"
        self.root_key = directory / "root.key"
        openssl("req", "-x509", *_EC, "-keyout", "root.key", "-out", "root.pem",
                "-subj", f"/CN={name}", "-days", "3650", cwd=directory)  # fmt: skip

    def issue(
        self, stem: str, cn: str, sans: Sequence[str], *, serial: int, days: int = 90
    ) -> Issued:
        """Issue `stem`.pem/.key for `cn` with DNS SANs and a fixed serial."""
        ext = self.dir / f"{stem}.ext"
        ext.write_text("subjectAltName=" + ",".join(f"DNS:{s}" for s in sans) + "\n")
        openssl("req", "-new", *_EC, "-keyout", f"{stem}.key", "-out", f"{stem}.csr",
                "-subj", f"/CN={cn}", cwd=self.dir)  # fmt: skip
        openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", "root.pem", "-CAkey", "root.key",
                "-out", f"{stem}.pem", "-days", str(days), "-set_serial", str(serial),
                "-extfile", ext.name, cwd=self.dir)  # fmt: skip
        chain = self.dir / f"{stem}-chain.pem"
        chain.write_bytes((self.dir / f"{stem}.pem").read_bytes() + self.root.read_bytes())
        return Issued(self.dir / f"{stem}.pem", self.dir / f"{stem}.key", chain)


def sha256_of(pem: Path) -> str:
    """The certificate's SHA-256 fingerprint as openssl prints it, in certctl's form."""
    out = openssl("x509", "-in", pem.name, "-noout", "-fingerprint", "-sha256", cwd=pem.parent)
    return out.decode().split("=", 1)[1].strip().replace(":", "").lower()


@asynccontextmanager
async def tls_server(issued: Issued, host: str = "127.0.0.1") -> AsyncIterator[int]:
    """Serve `issued` (leaf + root) over TLS on `host`:0; yields the port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(issued.chain, issued.key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError, ssl.SSLError):
            await reader.read(1)
        writer.close()

    server = await asyncio.start_server(handle, host, 0, ssl=context)
    port: int = server.sockets[0].getsockname()[1]
    async with server:
        yield port
