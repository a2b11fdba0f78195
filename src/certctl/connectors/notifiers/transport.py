"""The outbound HTTP seam of the notifiers: one POST, answered or failed, on a pooled client.

Deliveries are the server's hot outbound path (C13: thousands per second), so they go through
aiohttp, whose per-request cost does not grow with the connection pool. Notifiers see only
the `HttpTransport` protocol; tests may pass any implementation of it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp


@dataclass(frozen=True)
class HttpAnswer:
    """A response: status, headers with lower-case names, and the body read up to a limit."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    charset: str | None = None

    @property
    def text(self) -> str:
        """The body decoded (UTF-8 unless the answer names another charset)."""
        return self.body.decode(self.charset or "utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class TransportFailure(Exception):
    """The request got no answer: connection refused or reset, DNS, TLS, or a timeout."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


class HttpTransport(Protocol):
    """POSTs bytes and hands back the answer; never follows redirects."""

    async def post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        *,
        time_limit: float,
        max_bytes: int,
    ) -> HttpAnswer:
        """Send one POST; raise TransportFailure when no answer came within `time_limit` s."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...


class AiohttpTransport:
    """An aiohttp session made on first use (it must be made inside the running loop)."""

    def __init__(self, *, pool_size: int, user_agent: str) -> None:
        self._pool_size = pool_size
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self._user_agent},
                # Environment proxies are not consulted: every target passed the SSRF check
                # itself, and a proxy would connect somewhere that did not.
                trust_env=False,
            )
        return self._session

    async def post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        *,
        time_limit: float,
        max_bytes: int,
    ) -> HttpAnswer:
        """One POST; redirects are answers, never followed (their target was never checked)."""
        try:
            async with asyncio.timeout(time_limit):
                return await self._send(url, content, headers, max_bytes)
        except TimeoutError as exc:
            raise TransportFailure(f"timed out after {time_limit:g}s", timed_out=True) from exc
        except aiohttp.ClientError as exc:
            raise TransportFailure(str(exc) or type(exc).__name__) from exc

    async def _send(
        self, url: str, content: bytes, headers: Mapping[str, str], max_bytes: int
    ) -> HttpAnswer:
        async with self._client().post(
            url, data=content, headers=dict(headers), allow_redirects=False
        ) as response:
            body = bytearray()
            async for chunk in response.content.iter_chunked(16 * 1024):
                body += chunk
                if len(body) >= max_bytes:
                    break
            return HttpAnswer(
                status=response.status,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=bytes(body[:max_bytes]),
                charset=response.charset,
            )

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
