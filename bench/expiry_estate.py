"""The estate of bench/expiry_scan.py: certificates, owners and one renewal policy, seeded."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import harness

POLICY_ID = "rp-bench-default"
THRESHOLDS = (30, 14, 7, 0)
WINDOW_DAYS = 30
FAR_DAYS = (60.0, 800.0)  # certificates outside the window: well past the scan's horizon
TEAMS = ("platform", "payments", "identity", "data")
OWNERS = (
    ("alice", "platform"),
    ("bob", "platform"),
    ("carol", "payments"),
    ("dave", "payments"),
    ("erin", "identity"),
    ("frank", "identity"),
    ("grace", "data"),
    ("heidi", "data"),
)
ENVIRONMENTS = ("production", "staging", "internal")
CERT_COLUMNS = (
    "id",
    "name",
    "common_name",
    "sans",
    "environment",
    "owner_id",
    "team_id",
    "renewal_policy_id",
    "status",
    "expires_at",
    "tags",
    "source",
    "created_at",
    "updated_at",
)
POLICY_COLUMNS = (
    "id",
    "name",
    "description",
    "renewal_window_days",
    "auto_renew",
    "max_retries",
    "retry_interval_seconds",
    "alert_thresholds_days",
    "alert_channels",
    "alert_severity_map",
    "created_at",
    "updated_at",
)
CHANNEL_MATRIX = {"informational": ["Email"], "warning": ["Email"], "critical": ["Email"]}


@dataclass(frozen=True)
class Estate:
    """What to seed; every row is derived from it deterministically."""

    certs: int
    expiring_fraction: float
    expired_fraction: float
    stale_status: bool
    now: datetime

    def kinds(self) -> Iterator[str]:
        """`expiring`, `expired` or `far` for each index, evenly interleaved.

        floor(N x expiring_fraction) expiring; the expired share is spread over the others so
        that it comes to N x expired_fraction (give or take one).
        """
        f = self.expiring_fraction
        g = self.expired_fraction / (1 - f) if f < 1 else 0.0
        rest = 0
        for index in range(self.certs):
            if math.floor((index + 1) * f) > math.floor(index * f):
                yield "expiring"
                continue
            yield "expired" if math.floor((rest + 1) * g) > math.floor(rest * g) else "far"
            rest += 1

    def expiries(self) -> Iterator[tuple[str, datetime]]:
        """(kind, expires_at) of every certificate, in id order."""
        rand = random.Random(20261128).random
        expiring = 0
        for kind in self.kinds():
            if kind == "expiring":
                # Days left 0..29 in turn; 12 h + up to 10 h 59 min past the whole day keeps
                # days_left() exactly on that day whatever the minute spread.
                days = expiring % 30
                offset = timedelta(days=days, hours=12, minutes=expiring % 660)
                expiring += 1
            elif kind == "expired":
                offset = -timedelta(days=1 + rand() * 364)
            else:
                offset = timedelta(days=FAR_DAYS[0] + rand() * (FAR_DAYS[1] - FAR_DAYS[0]))
            yield kind, self.now + offset

    def status(self, kind: str) -> str:
        if kind == "expired":
            return "Expired"
        if kind == "expiring":
            return "Active" if self.stale_status else "Expiring"
        return "Active"

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Certificates in CERT_COLUMNS order (JSON columns as text)."""
        created = self.now - timedelta(days=200)
        for index, (kind, expires_at) in enumerate(self.expiries()):
            env = ENVIRONMENTS[index % 3]
            owner, team = OWNERS[index % len(OWNERS)]
            cn = f"svc{index:07d}.{team}.{env}.example.com"
            yield (
                f"mc-scan-{index:07d}",
                cn,
                cn,
                f'["{cn}", "www.{cn}"]',
                env,
                f"o-{owner}",
                f"t-{team}",
                POLICY_ID,
                self.status(kind),
                expires_at,
                f'{{"app": "app{index % 97}"}}',
                "import",
                created,
                created,
            )

    def counts(self) -> dict[str, int]:
        counted = Counter(self.kinds())
        return {kind: counted[kind] for kind in ("expiring", "expired", "far")}

    def expected_alerts(self) -> int:
        """Decisions tick 1 must enqueue: one per crossed threshold (one channel each)."""
        total = 0
        for kind, expires_at in self.expiries():
            if kind == "far":
                continue
            left = math.floor((expires_at - self.now) / timedelta(days=1))
            total += sum(1 for t in THRESHOLDS if left <= t)
        return total

    def policy_row(self) -> tuple[Any, ...]:
        return (
            POLICY_ID,
            "bench-default",
            "every certificate of the expiry-scan benchmark",
            WINDOW_DAYS,
            True,
            3,
            3600,
            json.dumps(list(THRESHOLDS)),
            json.dumps(CHANNEL_MATRIX),
            "{}",
            self.now,
            self.now,
        )


def inventory_rows(now: datetime) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    teams = [(f"t-{t}", t.title(), f"{t} team", now, now) for t in TEAMS]
    owners = [(f"o-{o}", o.title(), f"{o}@example.com", f"t-{t}", now, now) for o, t in OWNERS]
    return teams, owners


def seed_tables(estate: Estate) -> list[harness.Table]:
    """Teams, owners, the one renewal policy (foreign keys are enforced), the certificates."""
    teams, owners = inventory_rows(estate.now)
    return [
        ("teams", ("id", "name", "description", "created_at", "updated_at"), teams),
        ("owners", ("id", "name", "email", "team_id", "created_at", "updated_at"), owners),
        ("renewal_policies", POLICY_COLUMNS, [estate.policy_row()]),
        ("managed_certificates", CERT_COLUMNS, estate.rows()),
    ]


async def outbox_counts(url: str) -> dict[str, int]:
    """Rows the scans wrote: outbox and audit."""
    return {
        table: int(await harness.scalar(url, f"SELECT count(*) FROM {table}"))
        for table in ("notification_events", "audit_events")
    }
