"""The real `certctl` processes: serve over HTTP and HTTPS, and the demo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from certctl.pki.mint import make_ca
from certctl.testing.clock import TEST_EPOCH
from certctl.testing.postgres import free_port

pytestmark = pytest.mark.e2e
CERTCTL = str(Path(sys.executable).parent / "certctl")


def _start(
    args: list[str], env: dict[str, str], cwd: Path, *, stderr: Any = subprocess.PIPE
) -> subprocess.Popen[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
    return subprocess.Popen(
        [CERTCTL, *args],
        env={**full_env, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def _wait_ready(url: str, proc: subprocess.Popen[str], **client_args: object) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited early: {proc.stderr.read() if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/ready", timeout=2, **client_args).status_code == 200:  # type: ignore[arg-type]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready within 60 s")


def _poll(url: str, headers: dict[str, str]) -> dict[str, object]:
    """The first non-empty list answer within 30 s (the server's loops run on their own)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body: dict[str, object] = httpx.get(url, headers=headers, timeout=30).json()
        if body["total"]:
            return body
        time.sleep(0.5)
    raise AssertionError(f"nothing listed at {url} within 30 s")


@pytest.fixture
def stop_all() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_serve_answers_over_http(tmp_path: Path, stop_all: list[subprocess.Popen[str]]) -> None:
    """`certctl serve` migrates its database, serves the API and logs JSON lines."""
    port = free_port()
    env = {
        "CERTCTL_SERVER_PORT": str(port),
        "CERTCTL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db",
        "CERTCTL_API_KEYS_NAMED": "ops:ops-key-1234567890:admin",
        "CERTCTL_LOG_LEVEL": "debug",
    }
    # Debug logging outgrows a pipe's buffer before the test reads it: log to a file.
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log_file:
        proc = _start(["serve"], env, tmp_path, stderr=log_file)
    stop_all.append(proc)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, proc)
    headers = {"Authorization": "Bearer ops-key-1234567890", "X-Request-ID": "e2e-req-1"}
    created = httpx.post(f"{url}/api/v1/teams", json={"name": "A"}, headers=headers, timeout=30)
    assert created.status_code == 201
    assert httpx.get(f"{url}/api/v1/teams", timeout=30).status_code == 401
    proc.terminate()  # SIGTERM: loops drain, then the process exits cleanly
    proc.communicate(timeout=40)
    err = log_path.read_text()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status is -15.
    assert proc.returncode == -15
    assert "Application shutdown complete." in [line["event"] for line in lines]
    request_lines = [line for line in lines if line.get("request_id") == "e2e-req-1"]
    assert [(line["event"], line["status"], line["actor"]) for line in request_lines] == [
        ("http.request", 201, "ops")
    ]
    assert all("ops-key-1234567890" not in line for line in err.splitlines())


def test_serve_speaks_tls_with_hsts(tmp_path: Path, stop_all: list[subprocess.Popen[str]]) -> None:
    """With a TLS certificate and key configured the server answers HTTPS and sends HSTS."""
    ca = make_ca("127.0.0.1", TEST_EPOCH.replace(year=2026) - timedelta(days=1))
    cert_path, key_path = tmp_path / "tls.pem", tmp_path / "tls.key"
    cert_path.write_text(ca.pem)
    key_path.write_bytes(
        ca.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    port = free_port()
    env = {
        "CERTCTL_SERVER_PORT": str(port),
        "CERTCTL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db",
        "CERTCTL_SERVER_TLS_CERT_PATH": str(cert_path),
        "CERTCTL_SERVER_TLS_KEY_PATH": str(key_path),
    }
    proc = _start(["serve"], env, tmp_path)
    stop_all.append(proc)
    url = f"https://127.0.0.1:{port}"
    _wait_ready(url, proc, verify=False)
    response = httpx.get(f"{url}/health", verify=False, timeout=30)
    assert response.json()["status"] == "ok"
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_demo_prints_a_working_admin_key(
    tmp_path: Path, stop_all: list[subprocess.Popen[str]]
) -> None:
    """`certctl demo` seeds 30 certificates and prints the admin key that reads them."""
    port = free_port()
    proc = _start(["demo", "--port", str(port)], {}, tmp_path)
    stop_all.append(proc)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, proc)
    key = (tmp_path / "var" / "demo-admin.key").read_text().strip()
    headers = {"Authorization": f"Bearer {key}"}
    listing = httpx.get(
        f"{url}/api/v1/certificates?include_archived=true", headers=headers, timeout=30
    )
    assert listing.json()["total"] == 30
    proc.terminate()
    out, _ = proc.communicate(timeout=15)
    assert re.search(rf"Admin API key: {re.escape(key)}", out)
    assert f"{url}/docs" in out
