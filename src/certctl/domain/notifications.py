"""Outbox rows, their statuses and the retry schedule (C4); DB-defined channels."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from certctl.domain.alerts import NotificationKind
from certctl.errors import Conflict


class NotificationStatus(enum.StrEnum):
    """Life of an outbox row."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    READ = "read"
    SKIPPED = "skipped"


MAX_ATTEMPTS = 5
BACKOFF_CAP = timedelta(hours=1)
LEASE = timedelta(minutes=5)


def next_retry_at(attempts: int, now: datetime) -> datetime:
    """When to retry after failed attempt number `attempts` (from 0): 2^n minutes, ≤ 1 h."""
    return now + min(timedelta(minutes=2 ** min(attempts, 16)), BACKOFF_CAP)


@dataclass(frozen=True)
class NotificationEvent:
    """One outbox row: a decided notification and its delivery state."""

    id: str
    kind: NotificationKind
    channel: str
    status: NotificationStatus
    severity_tier: str
    subject: str
    message: str
    incident_key: str
    created_at: datetime
    updated_at: datetime
    certificate_id: str | None = None
    version_ref: str = ""
    threshold_days: int | None = None
    days_until_expiry: int | None = None
    recipient: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    dedup_key: str | None = None
    attempts: int = 0
    next_retry_at: datetime | None = None
    lease_until: datetime | None = None
    last_error: str | None = None
    receipt: str | None = None
    sent_at: datetime | None = None
    read_at: datetime | None = None


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery attempt."""

    ok: bool
    detail: str
    skipped: bool = False
    permanent: bool = False
    retry_after: timedelta | None = None


def after_attempt(event: NotificationEvent, outcome: Delivery, now: datetime) -> NotificationEvent:
    """The row after an attempt: sent, skipped, failed with its next retry, or dead."""
    base = replace(event, lease_until=None, updated_at=now)
    if outcome.skipped:
        return replace(base, status=NotificationStatus.SKIPPED, last_error=outcome.detail)
    if outcome.ok:
        return replace(
            base,
            status=NotificationStatus.SENT,
            attempts=event.attempts + 1,
            receipt=outcome.detail,
            sent_at=now,
            next_retry_at=None,
        )
    attempts = event.attempts + 1
    if attempts >= MAX_ATTEMPTS or outcome.permanent:
        return replace(
            base,
            status=NotificationStatus.DEAD,
            attempts=attempts,
            last_error=outcome.detail,
            next_retry_at=None,
        )
    return replace(
        base,
        status=NotificationStatus.FAILED,
        attempts=attempts,
        last_error=outcome.detail,
        next_retry_at=max(
            next_retry_at(event.attempts, now), now + (outcome.retry_after or timedelta(0))
        ),
    )


def requeued(event: NotificationEvent, now: datetime) -> NotificationEvent:
    """An operator's requeue: attempts reset, error cleared, pending again."""
    if event.status in (NotificationStatus.PENDING,):
        raise Conflict("notification is already pending")
    if event.status in (NotificationStatus.SENT, NotificationStatus.READ):
        raise Conflict(f"notification was delivered ({event.status.value}); nothing to requeue")
    return replace(
        event,
        status=NotificationStatus.PENDING,
        attempts=0,
        next_retry_at=None,
        last_error=None,
        lease_until=None,
        updated_at=now,
    )


@dataclass(frozen=True)
class NotificationChannel:
    """A channel defined in the database (overrides the environment's for its type)."""

    id: str
    name: str
    channel: str
    created_at: datetime
    updated_at: datetime
    config: Mapping[str, Any] = field(default_factory=dict)
    sealed_secrets: str | None = None
    enabled: bool = True
