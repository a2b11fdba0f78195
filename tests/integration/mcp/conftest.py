"""Fixtures: a live `certctl serve` process and `certctl mcp` sessions talking to it.

This folder has no ``__init__.py`` on purpose: as a package it would be importable as
``mcp`` and shadow the MCP SDK for the whole test run.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from certctl.pki.mint import make_ca, mint_leaf
from certctl.testing.keys import KEYS, NAMED_KEYS
from certctl.testing.process import serving_logged

CERTCTL = str(Path(sys.executable).parent / "certctl")


@dataclass(frozen=True)
class LiveServer:
    """A `certctl serve` process on a free loopback port, with one key per role."""

    url: str
    workdir: Path

    def api(self, method: str, path: str, *, role: str = "admin", **kwargs: Any) -> Any:
        """Call the API as `role` and return the JSON answer (asserting success)."""
        headers = {"Authorization": f"Bearer {KEYS[role]}"}
        response = httpx.request(
            method, f"{self.url}/api/v1{path}", headers=headers, timeout=10, **kwargs
        )
        assert response.is_success, response.text
        return response.json()

    def import_cert(self, cn: str, *, days_left: int) -> dict[str, Any]:
        """Import a freshly minted leaf expiring `days_left` days from now."""
        now = datetime.now(UTC)
        not_after = now + timedelta(days=days_left)
        pem = mint_leaf(
            make_ca("Live CA", now - timedelta(days=400)),
            common_name=cn,
            sans=[cn],
            not_before=not_after - timedelta(days=365),
            not_after=not_after,
        )
        created: dict[str, Any] = self.api("POST", "/certificates/import", json={"pem": pem})
        return dict(created["certificate"])

    @asynccontextmanager
    async def mcp(self, role: str = "admin") -> AsyncIterator[ClientSession]:
        """An initialised MCP session with `certctl mcp` started as a subprocess."""
        params = StdioServerParameters(
            command=CERTCTL,
            args=["mcp"],
            env={"CERTCTL_SERVER_URL": self.url, "CERTCTL_API_KEY": KEYS[role]},
            cwd=self.workdir,
        )
        with (self.workdir / f"mcp-{role}.log").open("a") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                yield session


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Start `certctl serve` (SQLite, scheduler off) and stop it after the test."""
    yield from _serve(f"sqlite+aiosqlite:///{tmp_path}/live.db", tmp_path)


@pytest.fixture
def live_server_on_each_database(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The same live server on the test's database: SQLite, then PostgreSQL."""
    yield from _serve(database_url, tmp_path)


def _serve(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """`certctl serve` on `database_url` (scheduler off) until the generator is closed."""
    env = {
        "CERTCTL_DATABASE_URL": database_url,
        "CERTCTL_API_KEYS_NAMED": NAMED_KEYS,
        "CERTCTL_SCHEDULER_ENABLED": "false",
        # A local CA issuer seals its key: the issuer tools need one.
        "CERTCTL_CONFIG_ENCRYPTION_KEY": "live-server-encryption-key-0123456789",
    }
    with serving_logged(env, tmp_path) as (url, _):
        yield LiveServer(url=url, workdir=tmp_path)
