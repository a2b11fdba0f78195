"""Outbox rows, their statuses and the retry schedule (C4); DB-defined channels."""

from __future__ import annotations

import enum
import math
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
    CANCELLED = "cancelled"
    SILENCED = "silenced"
    """Muted by an active silence (`silence_id`); pending again when the silence ends."""
    HELD = "held"
    """Held by quiet hours until `next_retry_at`, the end of the window."""
    DIGESTED = "digested"
    """Over its channel's rate limit: folded into the digest row `digest_id`."""


CANCELLABLE = frozenset(
    {
        NotificationStatus.PENDING,
        NotificationStatus.FAILED,
        NotificationStatus.SILENCED,
        NotificationStatus.HELD,
    }
)
"""Rows not delivered yet whose alert may still end first: they are cancelled, never sent."""


MAX_ATTEMPTS = 5
BACKOFF_CAP = timedelta(hours=1)
RETRY_AFTER_CAP = timedelta(hours=1)
ABSURD_RETRY_AFTER = timedelta(days=1)
"""A Retry-After beyond this is a broken or hostile answer: the schedule applies instead."""


def next_retry_at(attempts: int, now: datetime) -> datetime:
    """When to retry after failed attempt number `attempts` (from 0): 2^n minutes, ≤ 1 h."""
    return now + min(timedelta(minutes=2 ** min(attempts, 16)), BACKOFF_CAP)


def delivery_lease(timeout_seconds: float) -> timedelta:
    """How long a claimed row stays this dispatcher's: one attempt's hard limit plus the
    recording of its result.

    Rows are claimed only when a delivery slot is free, so a lease never covers time spent
    queueing behind other rows; a crashed dispatcher's rows are due again this soon.
    """
    return timedelta(seconds=2 * timeout_seconds + 10)


def honoured_retry_after(seconds: float | None) -> timedelta | None:
    """The part of a channel's Retry-After that is honoured: at most 1 h (C4).

    A value that is not a finite, non-negative number of seconds within a day (a far-future
    HTTP-date, 999999999999, NaN) is ignored, so one receiver can neither park a row for ever
    nor overflow the date arithmetic.
    """
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    if seconds > ABSURD_RETRY_AFTER.total_seconds():
        return None
    return min(timedelta(seconds=seconds), RETRY_AFTER_CAP)


def retry_at(attempts: int, now: datetime, retry_after: float | None) -> datetime:
    """The next attempt after failed attempt `attempts`: the schedule, later if asked (≤ 1 h)."""
    scheduled = next_retry_at(attempts, now)
    asked = honoured_retry_after(retry_after)
    return max(scheduled, now + asked) if asked is not None else scheduled


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
    alert_id: str | None = None
    silence_id: str | None = None
    digest_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery attempt."""

    ok: bool
    detail: str
    skipped: bool = False
    permanent: bool = False
    retry_after: float | None = None
    """Seconds the channel asked us to wait, as it said them (checked in `retry_at`)."""


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
        next_retry_at=retry_at(event.attempts, now, outcome.retry_after),
    )


def cancelled(event: NotificationEvent, reason: str, now: datetime) -> NotificationEvent:
    """A row whose alert ended before it was delivered: kept, visibly cancelled, with why."""
    return replace(
        event,
        status=NotificationStatus.CANCELLED,
        last_error=f"cancelled: {reason}",
        next_retry_at=None,
        lease_until=None,
        updated_at=now,
    )


def requeued(event: NotificationEvent, now: datetime) -> NotificationEvent:
    """An operator's requeue: attempts reset, error cleared, pending again."""
    if event.status in (NotificationStatus.PENDING,):
        raise Conflict("notification is already pending")
    if event.status is NotificationStatus.CANCELLED:
        # Re-sending a resolved alert's trigger would page for a condition that has ended.
        raise Conflict("notification was cancelled because its alert resolved; nothing to requeue")
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
