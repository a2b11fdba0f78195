"""Fixtures: a live `certctl serve` process and `certctl mcp` sessions talking to it.

This folder has no ``__init__.py`` on purpose: as a package it would be importable as
``mcp`` and shadow the MCP SDK for the whole test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
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
from certctl.testing.postgres import free_port

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
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
    env |= {
        "CERTCTL_SERVER_PORT": str(port),
        "CERTCTL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/live.db",
        "CERTCTL_API_KEYS_NAMED": NAMED_KEYS,
        "CERTCTL_SCHEDULER_ENABLED": "false",
    }
    log = tmp_path / "server.log"
    proc = subprocess.Popen(
        [CERTCTL, "serve"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    listening = threading.Event()
    reader = threading.Thread(target=_drain, args=(proc, log, listening), daemon=True)
    reader.start()
    try:
        if not listening.wait(timeout=60) or proc.poll() is not None:
            raise AssertionError(f"server did not start: {log.read_text()}")
        yield LiveServer(url=f"http://127.0.0.1:{port}", workdir=tmp_path)
    finally:
        proc.terminate()
        proc.wait(timeout=40)
        reader.join(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def _drain(proc: subprocess.Popen[str], log: Path, listening: threading.Event) -> None:
    """Copy the server's log lines to a file; signal once uvicorn listens."""
    assert proc.stderr is not None
    with log.open("w") as sink:
        for line in proc.stderr:
            sink.write(line)
            sink.flush()
            if "Uvicorn running on" in line:
                listening.set()
    listening.set()  # the process ended: stop waiting (the caller reads the log)
