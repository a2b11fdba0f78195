"""Fixtures: run `certctl` client commands against the app in process, and a live server."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from typer.testing import CliRunner

from certctl.api.app import create_app
from certctl.bootstrap import build_context
from certctl.cli.client_cmds.session import overridden
from certctl.cli.main import app
from certctl.clock import FrozenClock
from certctl.pki.mint import make_ca, mint_leaf
from certctl.settings import Settings
from certctl.testing.clock import TEST_EPOCH
from certctl.testing.keys import KEYS, NAMED_KEYS
from certctl.testing.process import serving_logged

SERVER = "http://certctl.test"
CERTCTL = str(Path(sys.executable).parent / "certctl")


@dataclass(frozen=True)
class Run:
    """What one `certctl` invocation printed and its exit code."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Stdout parsed as JSON."""
        return json.loads(self.stdout)


Cli = Callable[..., Awaitable[Run]]


@pytest.fixture
def backend() -> str:
    """The CLI is an HTTP adapter over the API: one database backend is enough."""
    return "sqlite"


def invoke(args: list[str], env: dict[str, str], stdin: str | None = None) -> Run:
    """Run the Typer app in this thread, as `certctl ARGS`."""
    result = CliRunner().invoke(app, args, env=env, input=stdin)
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli(settings: Settings, clock: FrozenClock) -> Iterator[Cli]:
    """`await cli("certs", "list", role="viewer")`: the CLI against the app in process.

    Each invocation runs in a worker thread with its own event loop, and builds its own app
    context on the test's database inside that loop (the app under test is real, only the
    network is skipped). Relative times are computed at the frozen test clock.
    """

    @asynccontextmanager
    async def in_process() -> AsyncIterator[httpx.AsyncBaseTransport]:
        context = build_context(settings, clock=clock)
        # The server's request log would otherwise land in the command's captured stdout.
        with structlog.testing.capture_logs():
            try:
                yield httpx.ASGITransport(app=create_app(context))
            finally:
                await context.aclose()

    async def run(*args: str, role: str | None = "admin", stdin: str | None = None) -> Run:
        env = {"CERTCTL_SERVER_URL": SERVER, "COLUMNS": "200"}
        env["CERTCTL_API_KEY"] = KEYS[role] if role else ""
        return await asyncio.to_thread(invoke, list(args), env, stdin)

    with overridden(transport=in_process, clock=clock):
        yield run


def leaf_pem(cn: str, *, days_left: float, sans: list[str] | None = None) -> str:
    """A CA-signed leaf expiring `days_left` days after TEST_EPOCH (leaf then CA)."""
    ca = make_ca("Test CA", TEST_EPOCH)
    not_after = TEST_EPOCH + timedelta(days=days_left)
    return mint_leaf(
        ca,
        common_name=cn,
        sans=sans or [cn],
        not_before=not_after - timedelta(days=90),
        not_after=not_after,
    )


async def import_cert(
    api: httpx.AsyncClient, cn: str, *, days_left: float, **fields: object
) -> dict[str, Any]:
    """Import a minted leaf through the API and return the certificate."""
    pem = leaf_pem(cn, days_left=days_left)
    response = await api.post("/api/v1/certificates/import", json={"pem": pem, **fields})
    assert response.status_code == 201, response.text
    cert: dict[str, Any] = response.json()["certificate"]
    return cert


def lines(text: str) -> list[str]:
    """Non-empty lines with trailing blanks removed."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def rows(text: str) -> list[list[str]]:
    """The body rows of the Rich tables printed, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


def fields(text: str) -> dict[str, str]:
    """The rows of a two-column details table, as a dict."""
    return {row[0]: row[1] for row in rows(text) if len(row) == 2}


@dataclass(frozen=True)
class LiveServer:
    """A `certctl serve` process on a free loopback port, with one key per role."""

    url: str
    log: Path


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Start `certctl serve` (SQLite, scheduler off) and stop it after the test."""
    env = {
        "CERTCTL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/live.db",
        "CERTCTL_API_KEYS_NAMED": NAMED_KEYS,
        "CERTCTL_SCHEDULER_ENABLED": "false",
    }
    with serving_logged(env, tmp_path) as (url, log):
        yield LiveServer(url=url, log=log)
