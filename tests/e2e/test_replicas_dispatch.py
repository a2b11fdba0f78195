"""Two servers on one PostgreSQL: each alert once; kill -9 of one mid-dispatch loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from certctl.bootstrap import AppContext, build_context
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.certificates import CertificateStatus
from certctl.domain.listing import PageRequest
from certctl.services.notifications import NotificationFilter
from certctl.settings import Settings
from certctl.testing.postgres import free_port
from certctl.testing.process import start, stop, wait_ready
from certctl.testing.receivers import RecordingReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
ROWS = 300
CONCURRENCY = 5
KILL_AFTER = 100


@pytest.fixture
def backend() -> str:
    """These processes share one PostgreSQL database."""
    return "postgresql"


@pytest.fixture
async def webhook() -> AsyncIterator[RecordingReceiver]:
    """A webhook endpoint answering each delivery after 20 ms."""
    async with RecordingReceiver() as receiver:
        receiver.respond_after(0.02)
        yield receiver


async def seed_certificates(database_url: str, *, scan: bool) -> None:
    """ROWS certificates expiring today under a Webhook-only policy (scanned into the outbox when `scan`)."""
    ctx = build_context(
        Settings(database_url=database_url, config_encryption_key="crash-test-key-0123456789")  # type: ignore[arg-type]
    )
    try:
        policy = await ctx.policies.create(
            SYSTEM_CALLER,
            {
                "name": "webhook-only",
                "alert_thresholds_days": [0],
                "alert_channels": {"critical": ["Webhook"]},
            },
        )
        for n in range(ROWS):
            await ctx.certificates.create(
                SYSTEM_CALLER,
                {
                    "id": f"mc-crash-{n:03d}",
                    "name": f"crash-{n:03d}",
                    "common_name": f"crash-{n:03d}.example.com",
                    "status": CertificateStatus.ACTIVE,
                    "expires_at": ctx.clock.now() + timedelta(hours=12),
                    "renewal_policy_id": policy.id,
                },
            )
        if scan:
            assert (await ctx.alerts.scan()).alerts_enqueued == ROWS
    finally:
        await ctx.aclose()


async def rows(database_url: str) -> list[tuple[str, str, int, bool]]:
    """(certificate, status, attempts, still leased) of every outbox row."""
    ctx: AppContext = build_context(Settings(database_url=database_url))
    try:
        page = await ctx.notifications.search(
            SYSTEM_CALLER, request=PageRequest(per_page=500), filters=NotificationFilter()
        )
    finally:
        await ctx.aclose()
    return [
        (r.certificate_id or "", r.status.value, r.attempts, r.lease_until is not None)
        for r in page.items
    ]


ADMIN = {"Authorization": "Bearer crash-test-admin-key-1234"}


def server_env(database_url: str, webhook: RecordingReceiver, port: int) -> dict[str, str]:
    """One replica: webhook at the receiver, 5 deliveries in flight, 2 s timeout (14 s lease)."""
    return {
        "CERTCTL_SERVER_PORT": str(port),
        "CERTCTL_DATABASE_URL": database_url.replace("postgresql://", "postgresql+asyncpg://"),
        "CERTCTL_API_KEYS_NAMED": "ops:crash-test-admin-key-1234:admin",
        "CERTCTL_CONFIG_ENCRYPTION_KEY": "crash-test-key-0123456789",
        "CERTCTL_WEBHOOK_URL": webhook.url,
        "CERTCTL_ALLOW_PRIVATE_TARGETS": "true",
        "CERTCTL_NOTIFICATION_CONCURRENCY": str(CONCURRENCY),
        "CERTCTL_NOTIFICATION_TIMEOUT_SECONDS": "2",
        "CERTCTL_NOTIFICATION_DISPATCH_INTERVAL": "0.5",
    }


async def started(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    proc = start(["serve"], env, cwd, log=cwd / f"server-{env['CERTCTL_SERVER_PORT']}.log")
    await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{env['CERTCTL_SERVER_PORT']}", proc)
    return proc


async def run_loop(client: httpx.AsyncClient, base: str, loop: str) -> dict[str, object]:
    response = await client.post(f"{base}/api/v1/admin/loops/{loop}/run", headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_two_replicas_scan_and_deliver_each_alert_exactly_once(
    database_url: str, webhook: RecordingReceiver, tmp_path: Path
) -> None:
    """Both replicas scan and dispatch at the same moment, twice: 300 rows, 300 receiver hits."""
    await seed_certificates(database_url, scan=False)
    ports = (free_port(), free_port())
    envs = [
        {**server_env(database_url, webhook, p), "CERTCTL_SCHEDULER_ENABLED": "false"}
        for p in ports
    ]
    replicas = [await started(env, tmp_path) for env in envs]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        async with httpx.AsyncClient(timeout=120) as client:
            for _ in range(2):
                for loop in ("renewal", "notification_dispatch"):
                    await asyncio.gather(*(run_loop(client, base, loop) for base in bases))
    finally:
        for proc in replicas:
            stop(proc)
    final = await rows(database_url)
    assert len(final) == ROWS
    assert {(status, attempts, leased) for _, status, attempts, leased in final} == {
        ("sent", 1, False)
    }
    per_certificate = Counter(r.json()["certificate"]["id"] for r in webhook.requests)
    assert (len(per_certificate), set(per_certificate.values())) == (ROWS, {1})


async def test_kill_9_of_a_replica_mid_dispatch_resends_at_most_what_was_in_flight(
    database_url: str, webhook: RecordingReceiver, tmp_path: Path
) -> None:
    """Replica A is killed at 100 of 300 deliveries; replica B sends the rest, repeating only A's in-flight rows."""
    await seed_certificates(database_url, scan=True)
    first = await started(server_env(database_url, webhook, free_port()), tmp_path)
    survivor: subprocess.Popen[str] | None = None
    try:
        async with asyncio.timeout(60):
            await webhook.wait_for(KILL_AFTER // 5)
        # B starts while A's dispatch tick holds the loop's lock: B's ticks skip until A dies.
        survivor = await started(server_env(database_url, webhook, free_port()), tmp_path)
        async with asyncio.timeout(60):
            await webhook.wait_for(KILL_AFTER)
        os.kill(first.pid, signal.SIGKILL)
        await asyncio.to_thread(first.wait, 10)
        reached = len(webhook.requests)
        after_crash = await rows(database_url)
        recorded = sum(1 for _, status, _, _ in after_crash if status == "sent")
        # Each finished delivery was committed soon after it completed: only the deliveries
        # in flight (and those finishing during the last commit) are unrecorded.
        assert recorded >= reached - 2 * CONCURRENCY
        for _ in range(450):  # up to 90 s: A's leases run out after 14 s
            if sum(1 for row in await rows(database_url) if row[1] == "sent") == ROWS:
                break
            await asyncio.sleep(0.2)
    finally:
        stop(first)
        if survivor is not None:
            stop(survivor)
    final = await rows(database_url)
    assert {(status, leased) for _, status, _, leased in final} == {("sent", False)}
    per_certificate = Counter(r.json()["certificate"]["id"] for r in webhook.requests)
    assert set(per_certificate) == {f"mc-crash-{n:03d}" for n in range(ROWS)}
    assert max(per_certificate.values()) <= 2
    assert sum(count - 1 for count in per_certificate.values()) <= 2 * CONCURRENCY
