"""The seeded outbox of bench/dispatch.py: pending webhook rows, their certificates, statuses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import harness

CERTS = 1000  # certificates the outbox rows point at (the foreign key is enforced)


EVENT_COLUMNS = (
    "id",
    "kind",
    "channel",
    "status",
    "certificate_id",
    "version_ref",
    "threshold_days",
    "days_until_expiry",
    "severity_tier",
    "recipient",
    "subject",
    "message",
    "context",
    "incident_key",
    "dedup_key",
    "attempts",
    "created_at",
    "updated_at",
)
CERT_COLUMNS = (
    "id",
    "name",
    "common_name",
    "sans",
    "environment",
    "status",
    "expires_at",
    "tags",
    "source",
    "created_at",
    "updated_at",
)
TIERS = {30: "informational", 14: "warning", 7: "warning", 0: "critical"}


def sample_context(index: int, now: datetime) -> tuple[dict[str, Any], int, int, str]:
    """(context, threshold, days left, certificate id) as the expiry scan writes them."""
    threshold = (30, 14, 7, 0)[index % 4]
    left = max(0, threshold - index % 5)
    cert = index % CERTS
    cn = f"svc{cert:06d}.payments.production.example.com"
    context = {
        "certificate_name": cn,
        "common_name": cn,
        "sans": [cn, f"www.{cn}"],
        "environment": "production",
        "owner_name": "Carol",
        "team_name": "Payments",
        "issuer_name": "",
        "expires_at": (now + timedelta(days=left, hours=6)).isoformat(),
        "days_left": left,
        "link": None,
    }
    return context, threshold, left, f"mc-disp-{cert:06d}"


def event_rows(count: int, tag: str, now: datetime) -> list[tuple[Any, ...]]:
    """Pending Webhook rows in EVENT_COLUMNS order, oldest first (context as JSON text)."""
    rows = []
    for index in range(count):
        context, threshold, left, cert_id = sample_context(index, now)
        name = context["certificate_name"]
        subject = f"Certificate {name} expires in {left} days ({context['expires_at'][:10]})"
        if left == 0:
            subject = f"[EXPIRES TODAY] Certificate {name} expires at {context['expires_at']}"
        message = "\n".join(
            [
                subject,
                "",
                f"Certificate: {name}",
                f"Common name: {name}",
                f"SANs: {', '.join(context['sans'])}",
                f"Owner: {context['owner_name']}",
                f"Team: {context['team_name']}",
                f"Environment: {context['environment']}",
                "",
                "What to do: renew the certificate (or confirm its renewal job is running).",
            ]
        )
        version = f"{tag}-{index}"  # one version per row keeps every dedup key distinct
        created = now - timedelta(milliseconds=count - index)
        rows.append(
            (
                f"ne-{tag}-{index:07d}",
                "expiration",
                "Webhook",
                "pending",
                cert_id,
                version,
                threshold,
                left,
                TIERS[threshold],
                "carol@example.com",
                subject,
                message,
                json.dumps(context),
                f"certctl-{cert_id}-{version}-T{threshold}",
                f"{tag}{index:032d}"[-40:],
                0,
                created,
                created,
            )
        )
    return rows


def cert_rows(now: datetime) -> list[tuple[Any, ...]]:
    rows = []
    for index in range(CERTS):
        cn = f"svc{index:06d}.payments.production.example.com"
        rows.append(
            (
                f"mc-disp-{index:06d}",
                cn,
                cn,
                json.dumps([cn, f"www.{cn}"]),
                "production",
                "Expiring",
                now + timedelta(days=10),
                "{}",
                "import",
                now - timedelta(days=80),
                now - timedelta(days=80),
            )
        )
    return rows


def seed_tables(count: int, tag: str, now: datetime) -> list[harness.Table]:
    """The certificates the outbox rows point at (the foreign key is enforced), then the rows."""
    return [
        ("managed_certificates", CERT_COLUMNS, cert_rows(now)),
        ("notification_events", EVENT_COLUMNS, event_rows(count, tag, now)),
    ]


async def status_counts(url: str) -> dict[str, int]:
    """Outbox rows by status, read with the application's own engine."""
    from sqlalchemy import text

    from certctl.db.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT status, count(*) FROM notification_events GROUP BY status")
            )
            return {str(status): int(n) for status, n in rows}
    finally:
        await engine.dispose()
