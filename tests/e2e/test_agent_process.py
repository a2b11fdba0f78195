"""The real `certctl agent` against a real `certctl serve` over HTTP (C7)."""

from __future__ import annotations

import json
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from certctl.testing.postgres import free_port
from certctl.testing.process import start, stop, wait_ready
from certctl.testing.tlsserver import OpensslCA, sha256_of

pytestmark = pytest.mark.e2e
TOKEN = "e2e-bootstrap-token-0123456789"
ADMIN = {"Authorization": "Bearer ops-key-1234567890"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`certctl serve` on SQLite with a bootstrap token, logging at debug level to a file."""
    port = free_port()
    env = {
        "CERTCTL_SERVER_PORT": str(port),
        "CERTCTL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/server.db",
        "CERTCTL_API_KEYS_NAMED": "ops:ops-key-1234567890:admin",
        "CERTCTL_AGENT_BOOTSTRAP_TOKEN": TOKEN,
        "CERTCTL_CONFIG_ENCRYPTION_KEY": "e2e-encryption-key-0123456789",
        "CERTCTL_SCHEDULER_JOB_PROCESSOR_INTERVAL": "0.5",
        "CERTCTL_LOG_LEVEL": "debug",
    }
    proc = start(["serve"], env, tmp_path, log=tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        yield url
    finally:
        stop(proc)


def _api(url: str, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(method, f"{url}/api/v1{path}", headers=ADMIN, timeout=30, **kwargs)
    assert answer.is_success, answer.text
    return answer.json()


def _until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _agent(
    url: str, tmp_path: Path, *, token: str | None = TOKEN, **extra: str
) -> subprocess.Popen[str]:
    env = {
        **extra,
        "CERTCTL_SERVER_URL": url,
        "CERTCTL_AGENT_NAME": "e2e-host",
        "CERTCTL_KEY_DIR": str(tmp_path / "agent" / "keys"),
        "CERTCTL_AGENT_STATE_DIR": str(tmp_path / "agent"),
        **({"CERTCTL_AGENT_BOOTSTRAP_TOKEN": token} if token else {}),
    }
    return start(["agent"], env, tmp_path, log=tmp_path / "agent.log")


def _csr_job_ready(url: str, tmp_path: Path) -> str:
    """Register like the agent, map a certificate to its target and wait for AwaitingCSR."""
    registered = httpx.post(
        f"{url}/api/v1/agents",
        json={"name": "e2e-host", "hostname": "e2e-host"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    ).json()
    state = tmp_path / "agent"
    state.mkdir(mode=0o700)
    identity = {"server_url": url, **registered}
    identity.pop("heartbeat_interval_seconds")
    identity.pop("poll_interval_seconds")
    (state / "agent.json").write_text(json.dumps(identity))
    issuer = _api(url, "POST", "/issuers", json={"name": "Local", "type": "GenericCA"})
    target = _api(
        url,
        "POST",
        "/targets",
        json={"name": "edge", "type": "NGINX", "agent_id": registered["agent_id"]},
    )
    cert = _api(
        url,
        "POST",
        "/certificates",
        json={
            "name": "edge",
            "common_name": "edge.example.com",
            "sans": ["edge.example.com"],
            "issuer_id": issuer["id"],
            "target_ids": [target["id"]],
        },
    )
    job = _api(url, "POST", f"/certificates/{cert['id']}/renew")
    _until(
        lambda: _api(url, "GET", f"/jobs/{job['id']}")["status"] == "AwaitingCSR",
        "the job to wait for the agent's CSR",
    )
    return str(cert["id"])


def test_the_agent_issues_from_its_own_key_and_no_private_key_reaches_the_server(
    server: str, tmp_path: Path
) -> None:
    """Saved credential reused, key 0600 in the key dir, version issued; SIGTERM exits 0;
    neither the server's database nor its log holds a private key."""
    cert_id = _csr_job_ready(server, tmp_path)
    agent = _agent(server, tmp_path, token=None)
    try:
        versions = _until(
            lambda: _api(server, "GET", f"/certificates/{cert_id}/versions")["data"],
            "the version issued from the agent's CSR",
        )
    finally:
        agent.terminate()
        agent.communicate(timeout=40)
    assert agent.returncode == 0
    keys = list((tmp_path / "agent" / "keys").iterdir())
    assert len(keys) == 1
    assert stat.S_IMODE(keys[0].stat().st_mode) == 0o600
    assert "PRIVATE KEY" in keys[0].read_text()
    assert len(versions) == 1
    assert _api(server, "GET", "/agents")["total"] == 1
    assert b"PRIVATE KEY" not in (tmp_path / "server.db").read_bytes()
    assert "PRIVATE KEY" not in (tmp_path / "server.log").read_text()


def test_a_retired_agent_process_exits_zero(server: str, tmp_path: Path) -> None:
    """First start registers (state 0600); once retired, the next start exits 0 on 410."""
    first = _agent(server, tmp_path)
    try:
        agents = _until(lambda: _api(server, "GET", "/agents")["data"], "the registration")
    finally:
        stop(first)
    assert first.returncode == 0
    assert stat.S_IMODE((tmp_path / "agent" / "agent.json").stat().st_mode) == 0o600
    _api(server, "POST", f"/agents/{agents[0]['id']}/retire", json={"reason": "decommissioned"})
    second = _agent(server, tmp_path, token=None)
    assert second.wait(timeout=60) == 0


def test_the_agent_process_reports_its_discovery_dirs_at_start(server: str, tmp_path: Path) -> None:
    """CERTCTL_DISCOVERY_DIRS: the certificate in that directory is listed under the agent."""
    ca = OpensslCA(tmp_path)
    ca.issue("web", "web.test", ["web.test"], serial=0x71)
    found = tmp_path / "etc"
    found.mkdir()
    (found / "web.pem").write_bytes((tmp_path / "web.pem").read_bytes())
    agent = _agent(server, tmp_path, CERTCTL_DISCOVERY_DIRS=str(found))
    try:
        rows = _until(lambda: _api(server, "GET", "/discoveries")["data"], "the discovery report")
        agents = _api(server, "GET", "/agents")["data"]
    finally:
        stop(agent)
    assert [(r["location"], r["common_name"], r["agent_id"]) for r in rows] == [
        (str(found / "web.pem"), "web.test", agents[0]["id"])
    ]
    assert rows[0]["fingerprint_sha256"] == sha256_of(tmp_path / "web.pem")
