"""Back up a live demo, restore it into a new data directory, serve it: everything still works."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from certctl.testing.process import CERTCTL, Demo, serving_demo, serving_logged
from certctl.testing.receivers import RecordingReceiver

pytestmark = pytest.mark.e2e
SIGNING_SECRET = "restored-webhook-signing-secret"


def certctl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the certctl executable with these CERTCTL_* variables."""
    return subprocess.run(
        [CERTCTL, *args], env=env, capture_output=True, text=True, check=False, timeout=120
    )


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run openssl in `cwd`."""
    return subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )


async def estate(client: httpx.AsyncClient) -> dict[str, Any]:
    """Every certificate with its newest version's fingerprint, and the local CA's chain."""
    certs = (await client.get("/api/v1/certificates", params={"per_page": 500})).json()["data"]
    found: dict[str, Any] = {"ca": (await client.get("/.well-known/pki/ca/iss-local")).text}
    for cert in certs:
        versions = (await client.get(f"/api/v1/certificates/{cert['id']}/versions")).json()
        prints = [v["fingerprint_sha256"] for v in versions["data"]]
        found[cert["id"]] = (cert["name"], cert["expires_at"], cert["issuer_id"], prints)
    return found


async def signed_test_send(client: httpx.AsyncClient, receiver: RecordingReceiver) -> bool:
    """Send the channel's test event; answer whether it arrived signed with the sealed secret."""
    before = len(receiver.requests)
    sent = await client.post("/api/v1/notification-channels/nc-signed/test")
    assert sent.status_code == 200, sent.text
    [request] = receiver.requests[before:]
    expected = hmac.new(SIGNING_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    return request.headers["x-signature"] == f"sha256={expected}"


def client_of(url: str, key: str) -> httpx.AsyncClient:
    """An API client for one server."""
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=30)


async def test_restored_demo_keeps_certificates_secrets_and_ca_key(tmp_path: Path) -> None:
    """Backed up live and restored elsewhere, the estate, a sealed secret and the CA key work."""
    allow = {"CERTCTL_ALLOW_PRIVATE_TARGETS": "true"}
    backup = tmp_path / "certctl.backup"
    async with RecordingReceiver() as receiver:
        with serving_demo(tmp_path / "live", allow) as demo:
            async with client_of(demo.url, demo.admin_key) as live:
                channel = {
                    "id": "nc-signed",
                    "name": "Signed webhook",
                    "channel": "Webhook",
                    "config": {"url": f"{receiver.url}/hook", "secret": SIGNING_SECRET},
                }
                assert (
                    await live.post("/api/v1/notification-channels", json=channel)
                ).status_code == 201
                assert await signed_test_send(live, receiver)
                before = await estate(live)
                env = {"CERTCTL_DATABASE_URL": f"sqlite+aiosqlite:///{demo.data_dir}/certctl.db"}
                made = certctl("db", "backup", str(backup), env=env)
                assert made.returncode == 0, made.stderr
        restored_dir = tmp_path / "restored"
        restored_url = f"sqlite+aiosqlite:///{restored_dir}/certctl.db"
        put = certctl("db", "restore", str(backup), env={"CERTCTL_DATABASE_URL": restored_url})
        assert put.returncode == 0, put.stderr
        with serving_logged(_restored_env(demo, restored_url), tmp_path) as (url, _):
            async with client_of(url, demo.admin_key) as restored:
                assert await estate(restored) == before
                assert await signed_test_send(restored, receiver)
                await _issue_and_verify(restored, before["ca"], tmp_path)


def _restored_env(demo: Demo, database_url: str) -> dict[str, str]:
    """`certctl serve` on the restored database with the backed-up installation's key."""
    return {
        "CERTCTL_DATABASE_URL": database_url,
        "CERTCTL_CONFIG_ENCRYPTION_KEY": (demo.data_dir / "demo-encryption.key")
        .read_text()
        .strip(),
        "CERTCTL_API_KEYS_NAMED": f"restore-admin:{demo.admin_key}:admin",
        "CERTCTL_ALLOW_PRIVATE_TARGETS": "true",
        "CERTCTL_SCHEDULER_ENABLED": "false",
    }


async def _issue_and_verify(client: httpx.AsyncClient, ca_pem: str, tmp: Path) -> None:
    """The restored local CA signs a new leaf that openssl verifies against the old CA."""
    cert = await client.post(
        "/api/v1/certificates",
        json={
            "name": "after-restore",
            "common_name": "restored.example.com",
            "issuer_id": "iss-local",
        },
    )
    assert cert.status_code == 201, cert.text
    openssl(
        "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=restored.example.com",
        "-addext", "subjectAltName=DNS:restored.example.com",
        cwd=tmp,
    )  # fmt: skip
    csr = (tmp / "leaf.csr").read_text()
    issued = await client.post(
        f"/api/v1/certificates/{cert.json()['id']}/csr", json={"csr_pem": csr}
    )
    assert issued.status_code == 201, issued.text
    chain = (await client.get(f"/api/v1/certificates/{cert.json()['id']}/versions/latest/pem")).text
    (tmp / "leaf.pem").write_text(
        chain.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    )
    (tmp / "ca.pem").write_text(ca_pem)
    verified = openssl("verify", "-CAfile", "ca.pem", "leaf.pem", cwd=tmp)
    assert verified.stdout.strip() == "leaf.pem: OK", verified.stderr
