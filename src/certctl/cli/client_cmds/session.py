"""What every client command shares: the connection options, the test seam, running one call.

Client commands talk to a certctl server over HTTP through ``certctl.client``. Tests route
them through the app in process instead with ``overridden(transport=..., clock=...)``: the
transport factory is entered inside the command's event loop, so whatever it builds (an app
context and its database pool) lives and dies on that loop.
"""

from __future__ import annotations

import asyncio
import enum
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import httpx
import typer
from rich.console import Console

from certctl.client import CertctlClient, ClientError
from certctl.clock import Clock, SystemClock

T = TypeVar("T")
DEFAULT_SERVER = "http://127.0.0.1:8443"

err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)
out = Console(soft_wrap=False, emoji=False, highlight=False)


class Output(enum.StrEnum):
    """How answers are printed."""

    TABLE = "table"
    JSON = "json"


ServerOpt = Annotated[
    str,
    typer.Option("--server", envvar="CERTCTL_SERVER_URL", help="Base URL of the certctl server."),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="CERTCTL_API_KEY",
        help="API key, sent as a Bearer token.",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Output,
    typer.Option("--output", case_sensitive=False, help="table, or json: the API's JSON."),
]
CaBundleOpt = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle",
        envvar="CERTCTL_CA_BUNDLE",
        dir_okay=False,
        help="PEM bundle of the CA(s) that sign the server's TLS certificate.",
        show_default=False,
    ),
]


@dataclass(frozen=True)
class ClientOptions:
    """Where the server is, how to authenticate and how to print."""

    server: str = DEFAULT_SERVER
    api_key: str | None = None
    output: Output = Output.TABLE
    ca_bundle: Path | None = None

    @property
    def json(self) -> bool:
        """True when answers are printed as JSON."""
        return self.output is Output.JSON


TransportFactory = Callable[[], AbstractAsyncContextManager[httpx.AsyncBaseTransport | None]]


@asynccontextmanager
async def _network() -> AsyncIterator[None]:
    """No transport of our own: httpx's network transport."""
    yield None


@dataclass(frozen=True)
class _Seam:
    transport: TransportFactory
    clock: Clock


_seam = _Seam(transport=_network, clock=SystemClock())


@contextmanager
def overridden(
    *, transport: TransportFactory | None = None, clock: Clock | None = None
) -> Iterator[None]:
    """Run client commands through another transport and clock until the block ends."""
    global _seam
    saved = _seam
    _seam = _Seam(transport=transport or saved.transport, clock=clock or saved.clock)
    try:
        yield
    finally:
        _seam = saved


def clock() -> Clock:
    """The clock of client commands (the system clock unless overridden)."""
    return _seam.clock


def now() -> datetime:
    """The current time for relative times ("in 12 d")."""
    return _seam.clock.now()


def fail(message: str, *, code: int = 1) -> NoReturn:
    """End the command with ``error: message`` on one line (exit 1; 2 for bad input)."""
    err.print(f"error: {message}", style="red", markup=False)
    raise typer.Exit(code)


def _verify(options: ClientOptions) -> ssl.SSLContext | bool:
    if options.ca_bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(options.ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        fail(f"cannot use CA bundle {options.ca_bundle}: {exc}")


@asynccontextmanager
async def open_client(options: ClientOptions) -> AsyncIterator[CertctlClient]:
    """A client for ``options`` over the current transport."""
    verify = _verify(options)
    async with (
        _seam.transport() as transport,
        CertctlClient(
            options.server, api_key=options.api_key, transport=transport, verify=verify
        ) as client,
    ):
        yield client


def call(options: ClientOptions, work: Callable[[CertctlClient], Awaitable[T]]) -> T:
    """Run ``work`` with a client; any ClientError ends the command with one line."""

    async def run() -> T:
        async with open_client(options) as client:
            return await work(client)

    try:
        return asyncio.run(run())
    except ClientError as exc:
        fail(exc.message)
