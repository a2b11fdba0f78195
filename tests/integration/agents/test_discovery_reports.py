"""Agent discovery reports over the agent protocol: route and agent loop (C7, C8)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from certctl.agent.discovery import scan_paths
from certctl.agent.main import AgentConfig, AgentLoop
from certctl.agent.state import StateFile
from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.client.agent import AgentClient, _discovered
from certctl.clock import FrozenClock
from certctl.testing.tlsserver import OpensslCA, openssl, sha256_of

from .conftest import Register
from .test_agent_process import FACTS, URL, FileDeployer, StopAfter


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, OpensslCA]:
    """A directory with one PEM leaf and one DER leaf made by openssl."""
    ca = OpensslCA(tmp_path_factory.mktemp("ca"))
    ca.issue("web", "web.test", ["web.test"], serial=0x61)
    ca.issue("mail", "mail.test", ["mail.test"], serial=0x62)
    root = tmp_path_factory.mktemp("etc")
    (root / "web.pem").write_bytes((ca.dir / "web.pem").read_bytes())
    openssl("x509", "-in", "mail.pem", "-outform", "DER", "-out", str(root / "mail.der"),
            cwd=ca.dir)  # fmt: skip
    return root, ca


@pytest.fixture
async def client(ctx: AppContext) -> AsyncIterator[AgentClient]:
    """An agent client over the real app."""
    async with AgentClient(URL, transport=httpx.ASGITransport(app=create_app(ctx))) as made:
        yield made


def _body(root: Path) -> dict[str, Any]:
    return {"items": [_discovered(item) for item in scan_paths([root])]}


async def test_an_agent_reports_its_findings_and_a_second_report_refreshes_them(
    register: Register, api: httpx.AsyncClient, certs: tuple[Path, OpensslCA]
) -> None:
    """200 with 2 new, then 2 refreshed; the listing holds exactly two rows of that agent."""
    agent = await register()
    first = await agent.http.post(agent.path("/discoveries"), json=_body(certs[0]))
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 2, "new": 2, "refreshed": 0}
    again = await agent.http.post(agent.path("/discoveries"), json=_body(certs[0]))
    assert again.json() == {"received": 2, "new": 0, "refreshed": 2}
    rows = (await api.get("/api/v1/discoveries", params={"sort": "location"})).json()
    assert rows["total"] == 2
    assert {(r["agent_id"], r["common_name"], r["format"]) for r in rows["data"]} == {
        (agent.id, "mail.test", "DER"),
        (agent.id, "web.test", "PEM"),
    }


async def test_an_agent_cannot_report_for_another_agent(
    register: Register, api: httpx.AsyncClient, certs: tuple[Path, OpensslCA]
) -> None:
    """Another agent's path answers 403 and records nothing."""
    owner = await register()
    other = await register("db-01", "db-01.example")
    answer = await other.http.post(owner.path("/discoveries"), json=_body(certs[0]))
    assert answer.status_code == 403
    assert (await api.get("/api/v1/discoveries")).json()["total"] == 0


async def test_a_retired_agent_cannot_report(
    register: Register, api: httpx.AsyncClient, certs: tuple[Path, OpensslCA]
) -> None:
    """A retired agent's report answers 410 and records nothing."""
    agent = await register()
    await api.post(f"/api/v1/agents/{agent.id}/retire", json={"reason": "decommissioned"})
    answer = await agent.http.post(agent.path("/discoveries"), json=_body(certs[0]))
    assert answer.status_code == 410
    assert (await api.get("/api/v1/discoveries")).json()["total"] == 0


def _loop(
    tmp_path: Path,
    client: AgentClient,
    clock: FrozenClock,
    sleeper: StopAfter,
    dirs: list[Path],
    interval: timedelta = timedelta(hours=6),
) -> AgentLoop:
    config = AgentConfig(
        server_url=URL,
        name="web-01",
        key_dir=tmp_path / "keys",
        state_dir=tmp_path / "state",
        bootstrap_token="agent-bootstrap-token-for-tests",
        discovery_dirs=tuple(dirs),
        discovery_interval=interval,
    )
    loop = AgentLoop(
        config, client, FileDeployer(tmp_path / "out"), clock=clock, sleep=sleeper, facts=FACTS
    )
    sleeper.loop = loop
    return loop


async def test_the_agent_loop_reports_a_scan_at_start_and_again_after_the_interval(
    tmp_path: Path,
    api: httpx.AsyncClient,
    client: AgentClient,
    clock: FrozenClock,
    certs: tuple[Path, OpensslCA],
) -> None:
    """The PEM and DER leaves are first seen at start and seen again one interval later."""
    start = clock.now()
    sleeper = StopAfter(clock, 5)
    loop = _loop(tmp_path, client, clock, sleeper, [certs[0]], timedelta(minutes=2))
    assert await loop.run() == 0
    identity = StateFile(tmp_path / "state").load(URL)
    assert identity is not None
    rows = (await api.get("/api/v1/discoveries", params={"sort": "location"})).json()["data"]
    assert [(r["location"], r["index_in_file"], r["format"], r["serial_number"]) for r in rows] == [
        (str(certs[0] / "mail.der"), 0, "DER", "62"),
        (str(certs[0] / "web.pem"), 0, "PEM", "61"),
    ]
    assert {r["agent_id"] for r in rows} == {identity.agent_id}
    assert rows[1]["fingerprint_sha256"] == sha256_of(certs[1].dir / "web.pem")
    assert {r["first_seen_at"] for r in rows} == {_iso(start)}
    assert {r["last_seen_at"] for r in rows} == {_iso(start + timedelta(minutes=2))}
    assert sleeper.waits == [30, 30, 30, 30, 30]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_the_default_discovery_interval_is_six_hours() -> None:
    """An agent configured without an interval scans every 6 h."""
    config = AgentConfig(server_url=URL, name="a", key_dir=Path("k"), state_dir=Path("s"))
    assert (config.discovery_dirs, config.discovery_interval) == ((), timedelta(hours=6))


async def test_an_agent_without_discovery_dirs_never_reports(
    tmp_path: Path, api: httpx.AsyncClient, client: AgentClient, clock: FrozenClock
) -> None:
    """No directories configured: waits stay the 30 s polls and nothing is discovered."""
    sleeper = StopAfter(clock, 3)
    assert await _loop(tmp_path, client, clock, sleeper, []).run() == 0
    assert sleeper.waits == [30, 30, 30]
    assert (await api.get("/api/v1/discoveries")).json()["total"] == 0


async def test_a_configured_poll_interval_sets_the_waits(
    tmp_path: Path, client: AgentClient, clock: FrozenClock
) -> None:
    """A 5 s poll interval: the agent waits 5 s between polls instead of 30 s."""
    sleeper = StopAfter(clock, 3)
    loop = _loop(tmp_path, client, clock, sleeper, [])
    loop.config = dataclasses.replace(loop.config, poll_interval=timedelta(seconds=5))
    assert await loop.run() == 0
    assert sleeper.waits == [5, 5, 5]
