"""The estate of bench/api_list.py: realistic certificates, teams and owners, seeded."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import harness

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
ENVIRONMENTS = (("production", 0.5), ("staging", 0.3), ("internal", 0.2))
SOURCES = (("manual", 0.4), ("import", 0.3), ("issued", 0.2), ("discovery", 0.1))
CERT_COLUMNS = (
    "id",
    "name",
    "common_name",
    "sans",
    "environment",
    "owner_id",
    "team_id",
    "status",
    "expires_at",
    "tags",
    "source",
    "last_renewal_at",
    "revoked_at",
    "revocation_reason",
    "created_at",
    "updated_at",
)


def seed_id(index: int) -> str:
    """Id of the index-th seeded certificate (the anchor scenario reads them back)."""
    return f"mc-seed-{index:07d}"


def _pick(roll: float, choices: tuple[tuple[str, float], ...]) -> str:
    for value, weight in choices:
        if roll < weight:
            return value
        roll -= weight
    return choices[-1][0]


def _status(roll: float, left_days: float) -> str:
    """A status consistent with the expiry date, plus the off-path states real estates have."""
    for status, upto in (("Pending", 0.02), ("Revoked", 0.05), ("Archived", 0.08)):
        if roll < upto:
            return status
    if roll < 0.10:
        return "Failed"
    if left_days <= 0:
        return "Expired"
    if left_days <= 30:
        return "RenewalInProgress" if roll < 0.2 else "Expiring"
    return "Active"


def cert_rows(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    """Realistic certificates in CERT_COLUMNS order (sans and tags as JSON text).

    Expiry is uniform over now +-400 days, so about 3 % are Expiring, 45 % Expired and the
    rest mostly Active; environments, owners, teams and sources are spread the same way.
    """
    rand = random.Random(20261128).random
    for index in range(count):
        env = _pick(rand(), ENVIRONMENTS)
        owner, team = OWNERS[int(rand() * len(OWNERS))]
        cn = f"svc{index:06d}.{team}.{env}.example.com"
        left_days = rand() * 800 - 400
        expires_at = now + timedelta(days=left_days)
        status = _status(rand(), left_days)
        created = min(now, expires_at) - timedelta(days=30 + rand() * 335)
        revoked = status == "Revoked"
        yield (
            seed_id(index),
            cn,
            cn,
            f'["{cn}", "www.{cn}"]',
            env,
            f"o-{owner}",
            f"t-{team}",
            status,
            None if status == "Pending" else expires_at,
            f'{{"app": "app{index % 97}", "tier": "{("web", "api", "batch")[index % 3]}"}}',
            _pick(rand(), SOURCES),
            created if rand() < 0.3 else None,
            min(now, expires_at) if revoked else None,
            "superseded" if revoked else None,
            created,
            created,
        )


def inventory_rows(now: datetime) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Teams and owners the certificates reference (foreign keys are enforced)."""
    teams = [(f"t-{t}", t.title(), f"{t} team", now, now) for t in TEAMS]
    owners = [(f"o-{o}", o.title(), f"{o}@example.com", f"t-{t}", now, now) for o, t in OWNERS]
    return teams, owners


def seed_tables(count: int, now: datetime) -> list[harness.Table]:
    """Teams, owners (foreign keys are enforced) and the certificates, in insertion order."""
    teams, owners = inventory_rows(now)
    return [
        ("teams", ("id", "name", "description", "created_at", "updated_at"), teams),
        ("owners", ("id", "name", "email", "team_id", "created_at", "updated_at"), owners),
        ("managed_certificates", CERT_COLUMNS, cert_rows(count, now)),
    ]


async def seed_database(url: str, count: int) -> float:
    """COPY then VACUUM ANALYZE (PostgreSQL) or executemany (SQLite); VACUUM's seconds."""
    vacuum = await harness.seed(url, seed_tables(count, datetime.now(UTC)))
    if not url.startswith("sqlite"):
        visible = await harness.scalar(
            url,
            "SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class"
            " WHERE relname = 'managed_certificates'",
        )
        if visible < 0.99:
            print(f"  warning: only {visible:.0%} of managed_certificates pages all-visible")
    return vacuum
