"""HTTP/1.1 clients of the load generators: raw asyncio streams (cheap) and httpx."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import httpx

IDLE_REUSE_S = 4.0  # uvicorn closes idle keep-alive connections after 5 s


class RawHttp:
    """Minimal HTTP/1.1 keep-alive client on asyncio streams: a pool of idle connections.

    It speaks just enough HTTP for uvicorn (Content-Length or chunked bodies) and returns
    the status and the body.
    """

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        hostport = base_url.removeprefix("http://")
        self.host, _, port = hostport.partition(":")
        self.port = int(port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.prefix = f"Host: {hostport}\r\n{extra}"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def open(self, count: int, path: str = "/health", pause: float = 0.005) -> None:
        """Open `count` keep-alive connections one after the other, each answered once.

        Workers of a multi-worker server race to accept on one shared socket, and a worker
        that wakes up accepts every connection waiting: opened all at once, the connections
        of a closed loop tend to land on one worker while the others idle.
        """
        for _ in range(count):
            reader, writer = await asyncio.open_connection(self.host, self.port)
            writer.write(f"GET {path} HTTP/1.1\r\n{self.prefix}\r\n".encode())
            _, _, keep = await read_response(reader)
            if keep:
                self.idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            await asyncio.sleep(pause)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The most recently used idle connection, else a new one.

        Connections idle for longer than IDLE_REUSE_S are dropped instead of reused: the
        server closes keep-alive connections after 5 s, and a request written into one it is
        closing would fail for reasons that have nothing to do with the server's speed.
        """
        now = time.monotonic()
        while self.idle:
            reader, writer, used = self.idle.pop()
            if now - used < IDLE_REUSE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\n{self.prefix}"
        if body is not None:
            head += f"Content-Type: {content_type or 'application/json'}\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        reader, writer = await self._connection()
        try:
            writer.write(head.encode() + b"\r\n" + (body or b""))
            status, payload, keep = await read_response(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self.idle.append((reader, writer, time.monotonic()))
        else:
            writer.close()
        return status, payload

    async def aclose(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one HTTP/1.1 response."""
    lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = dict(line.lower().split(b":", 1) for line in lines[1:] if b":" in line)
    body = b""
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").strip() == b"chunked":
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append((await reader.readexactly(size + 2))[:-2])
        await reader.readuntil(b"\r\n")
        body = b"".join(parts)
    return status, body, headers.get(b"connection", b"").strip() != b"close"


class HttpxHttp:
    """The same interface over httpx.AsyncClient."""

    def __init__(
        self, base_url: str, connections: int, headers: Mapping[str, str] | None = None
    ) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(
            base_url=base_url, headers=dict(headers or {}), limits=limits, timeout=30.0
        )

    async def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": content_type or "application/json"} if body is not None else None
        response = await self.client.request(method, path, content=body, headers=headers)
        return response.status_code, response.content

    async def aclose(self) -> None:
        await self.client.aclose()


async def probe(host: str, port: int, path: str) -> int:
    """One GET on a fresh connection (`Connection: close`), so it reaches whichever worker
    accepts it; returns the status."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        status, _, _ = await read_response(reader)
        return status
    finally:
        writer.close()


def loop_factory() -> Any:
    """uvloop's event loop when installed (uvicorn uses it too), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
