"""Fetch the certificate chain a TLS endpoint serves (C7 verification, C8 network scan, drift).

Python 3.11's `ssl` module hands back only the leaf, so the handshake runs through pyOpenSSL,
which exposes every certificate the peer sent, in the order sent (RFC 8446 §4.4.2: leaf
first). Nothing is verified here: the point is to see what is served, trusted or not. The
blocking handshake runs in a worker thread so the event loop never waits on a slow peer.
"""

from __future__ import annotations

import asyncio
import hashlib
import select
import socket
import time
from dataclasses import dataclass

from OpenSSL import SSL, crypto


class ProbeFailed(Exception):
    """The endpoint could not be reached or did not complete a TLS handshake."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"{host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.reason = reason


@dataclass(frozen=True)
class ServedChain:
    """What one endpoint served: the chain as DER, leaf first, and the negotiated protocol."""

    host: str
    port: int
    server_name: str | None
    chain_der: tuple[bytes, ...]
    protocol: str

    @property
    def leaf_der(self) -> bytes:
        """The served leaf certificate."""
        return self.chain_der[0]

    @property
    def leaf_sha256(self) -> str:
        """Lower-case hex SHA-256 of the leaf's DER: the fingerprint certctl stores."""
        return hashlib.sha256(self.leaf_der).hexdigest()


async def probe(
    host: str, port: int, *, server_name: str | None = None, deadline_seconds: float = 5.0
) -> ServedChain:
    """Connect to `host:port`, complete a handshake (with SNI when given) and return the chain.

    `deadline_seconds` bounds the connect and, separately, the handshake; it is enforced on the
    socket in the worker thread. Raises `ProbeFailed` on a refused or timed-out connection, a failed handshake, or a peer
    that sends no certificate.
    """
    return await asyncio.to_thread(_probe_blocking, host, port, server_name, deadline_seconds)


def _probe_blocking(host: str, port: int, server_name: str | None, timeout: float) -> ServedChain:
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ProbeFailed(host, port, _reason(exc)) from exc
    try:
        return _handshake(raw, host, port, server_name, timeout)
    finally:
        raw.close()


def _handshake(
    raw: socket.socket, host: str, port: int, server_name: str | None, timeout: float
) -> ServedChain:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_verify(SSL.VERIFY_NONE, lambda *_: True)
    raw.settimeout(timeout)
    conn = SSL.Connection(context, raw)
    if server_name:
        conn.set_tlsext_host_name(server_name.encode("idna"))
    conn.set_connect_state()
    try:
        _drive_handshake(conn, raw, time.monotonic() + timeout)
    except (SSL.Error, OSError) as exc:
        raise ProbeFailed(host, port, f"TLS handshake failed: {_reason(exc)}") from exc
    chain = conn.get_peer_cert_chain(as_cryptography=False) or []
    ders = tuple(crypto.dump_certificate(crypto.FILETYPE_ASN1, cert) for cert in chain)
    if not ders:
        raise ProbeFailed(host, port, "the peer sent no certificate")
    protocol = conn.get_protocol_version_name()
    _close_quietly(conn)
    return ServedChain(host, port, server_name, ders, protocol)


def _drive_handshake(conn: SSL.Connection, raw: socket.socket, deadline: float) -> None:
    """Run the handshake on a socket with a timeout (non-blocking to OpenSSL) until `deadline`."""
    while True:
        try:
            conn.do_handshake()
            return
        except SSL.WantReadError:
            readable, _, _ = select.select([raw], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                raise TimeoutError from None
        except SSL.WantWriteError:
            _, writable, _ = select.select([], [raw], [], max(0.0, deadline - time.monotonic()))
            if not writable:
                raise TimeoutError from None


def _close_quietly(conn: SSL.Connection) -> None:
    try:
        conn.shutdown()
    except (SSL.Error, OSError):
        # The peer may already have gone; the chain is in hand either way.
        return


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    return str(exc) or type(exc).__name__
