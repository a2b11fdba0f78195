"""kill -9 of a server mid-dispatch: the survivor delivers the rest, re-sending only what was in flight."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

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


async def seed_pending_rows(database_url: str) -> None:
    """ROWS certificates expiring today under a Webhook-only policy, scanned into the outbox."""
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


def server_env(database_url: str, webhook: RecordingReceiver, port: int) -> dict[str, str]:
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
    proc = start(["serve"], env, cwd)
    await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{env['CERTCTL_SERVER_PORT']}", proc)
    return proc


async def test_kill_9_mid_dispatch_resends_at_most_what_was_in_flight(
    database_url: str, webhook: RecordingReceiver, tmp_path: Path
) -> None:
    """After kill -9 at 100 of 300 deliveries, the next server sends the rest; duplicates ≤ in flight."""
    await seed_pending_rows(database_url)
    first = await started(server_env(database_url, webhook, free_port()), tmp_path)
    try:
        async with asyncio.timeout(60):
            await webhook.wait_for(KILL_AFTER)
        os.kill(first.pid, signal.SIGKILL)
        await asyncio.to_thread(first.wait, 10)
    finally:
        stop(first)
    reached = len(webhook.requests)
    after_crash = await rows(database_url)
    recorded = sum(1 for _, status, _, _ in after_crash if status == "sent")
    # Each finished delivery was committed soon after it completed: only the deliveries in
    # flight (and those finishing during the last commit) are unrecorded.
    assert reached - 2 * CONCURRENCY <= recorded <= reached

    second = await started(server_env(database_url, webhook, free_port()), tmp_path)
    try:
        for _ in range(450):  # up to 90 s: the killed server's leases run out after 14 s
            if sum(1 for row in await rows(database_url) if row[1] == "sent") == ROWS:
                break
            await asyncio.sleep(0.2)
    finally:
        stop(second)
    final = await rows(database_url)
    assert {(status, leased) for _, status, _, leased in final} == {("sent", False)}
    per_certificate = Counter(r.json()["certificate"]["id"] for r in webhook.requests)
    assert set(per_certificate) == {f"mc-crash-{n:03d}" for n in range(ROWS)}
    assert max(per_certificate.values()) <= 2
    duplicates = sum(count - 1 for count in per_certificate.values())
    assert duplicates == reached - recorded
    assert duplicates <= 2 * CONCURRENCY
