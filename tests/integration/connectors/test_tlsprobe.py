"""The TLS probe returns the chain a real TLS server sends, leaf first, with SNI."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from certctl.connectors.tlsprobe import ProbeFailed, probe


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def chain_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root, a leaf for probe.test signed by it, and the leaf+root chain file."""
    d = tmp_path_factory.mktemp("chain")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Probe Root",
             "-days", "2", cwd=d)  # fmt: skip
    _openssl("req", "-new", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=probe.test",
             cwd=d)  # fmt: skip
    _openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-out", "leaf.pem",
             "-days", "1", "-set_serial", "7", cwd=d)  # fmt: skip
    (d / "fullchain.pem").write_bytes((d / "leaf.pem").read_bytes() + (d / "ca.pem").read_bytes())
    return d


@pytest.fixture
async def tls_server(chain_files: Path) -> AsyncIterator[tuple[int, list[str]]]:
    """A TLS server on 127.0.0.1:0 serving the chain; yields its port and the SNI names seen."""
    seen: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain_files / "fullchain.pem", chain_files / "leaf.key")
    context.sni_callback = lambda _sock, name, _ctx: seen.append(name or "") or None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield port, seen


def _der(pem_path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem_path.read_text())


async def test_probe_returns_the_served_chain_leaf_first(
    tls_server: tuple[int, list[str]], chain_files: Path
) -> None:
    """Both certificates come back in the order sent, and the fingerprint is the leaf's."""
    port, seen = tls_server
    served = await probe("127.0.0.1", port, server_name="probe.test", deadline_seconds=5)
    assert served.chain_der == (_der(chain_files / "leaf.pem"), _der(chain_files / "ca.pem"))
    assert served.leaf_sha256 == hashlib.sha256(_der(chain_files / "leaf.pem")).hexdigest()
    assert served.protocol == "TLSv1.3"
    assert seen == ["probe.test"]


async def test_probe_of_a_closed_port_fails_with_the_reason() -> None:
    """A refused connection is a ProbeFailed naming the endpoint, not a raw socket error."""
    port = _free_port()
    with pytest.raises(ProbeFailed) as failed:
        await probe("127.0.0.1", port, deadline_seconds=2)
    assert (failed.value.host, failed.value.port) == ("127.0.0.1", port)
    assert "refused" in failed.value.reason.lower()


async def test_probe_of_a_plain_tcp_server_is_a_handshake_failure() -> None:
    """A peer that answers in plain text fails the handshake instead of hanging."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(ProbeFailed) as failed:
            await probe("127.0.0.1", port, deadline_seconds=2)
    assert failed.value.reason.startswith("TLS handshake failed")


def _free_port() -> int:
    """A port that was just free: bind, read the number, close."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port
