"""The HTTP transport under the app: TLS 1.2+ and read deadlines for half-sent requests (C10).

uvicorn's keep-alive timeout only covers the idle time between requests; a client that sends
part of its headers, or fewer body bytes than it declared, would hold a connection (and a
file descriptor) for ever. `DeadlineHttpToolsProtocol` closes such connections.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = structlog.get_logger("certctl.http")

HEADER_TIMEOUT_ATTR = "certctl_header_timeout"
BODY_TIMEOUT_ATTR = "certctl_body_timeout"


def tls12_context(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's context for the configured certificate, refusing anything below TLS 1.2."""
    context = default()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for the headers and one for the body.

    The header deadline runs from the connection (or from the first byte of a later request
    on it) until the headers are complete; the body deadline from then until the declared
    body has arrived. Either one expiring closes the connection.
    """

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout = float(getattr(config, HEADER_TIMEOUT_ATTR, 10.0))
        self.body_timeout = float(getattr(config, BODY_TIMEOUT_ATTR, 30.0))
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, "headers")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout, "body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float, part: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, part)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, part: str) -> None:
        self._deadline = None
        if self.transport is not None and not self.transport.is_closing():
            log.info("http.read_timeout", part=part, client=self.client)
            self.transport.close()
