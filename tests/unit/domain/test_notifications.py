"""Outbox row transitions: sent, skipped, failed with backoff, dead, requeue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.alerts import NotificationKind
from certctl.domain.notifications import (
    Delivery,
    NotificationEvent,
    NotificationStatus,
    after_attempt,
    cancelled,
    delivery_lease,
    honoured_retry_after,
    next_retry_at,
    requeued,
)
from certctl.errors import Conflict

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EVENT = NotificationEvent(
    id="ne-1",
    kind=NotificationKind.EXPIRATION,
    channel="PagerDuty",
    status=NotificationStatus.PENDING,
    severity_tier="critical",
    subject="s",
    message="m",
    incident_key="k",
    created_at=NOW,
    updated_at=NOW,
    lease_until=NOW + timedelta(minutes=5),
)


@pytest.mark.parametrize(
    ("attempts", "minutes"), [(0, 1), (1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (40, 60)]
)
def test_backoff_doubles_and_caps_at_an_hour(attempts: int, minutes: int) -> None:
    """next_retry_at = now + min(2^n minutes, 1 hour)."""
    assert next_retry_at(attempts, NOW) == NOW + timedelta(minutes=minutes)


def test_success_records_receipt_and_counts_the_attempt() -> None:
    """A delivered row is sent, keeps its attempt count and drops its lease."""
    after = after_attempt(replace(EVENT, attempts=2), Delivery(ok=True, detail="dedup-1"), NOW)
    assert (after.status, after.attempts, after.receipt, after.sent_at) == (
        NotificationStatus.SENT,
        3,
        "dedup-1",
        NOW,
    )
    assert (after.lease_until, after.next_retry_at) == (None, None)


def test_first_failure_is_scheduled_a_minute_later() -> None:
    """The first failure is retried too (the reference's gap)."""
    after = after_attempt(EVENT, Delivery(ok=False, detail="PagerDuty answered 503"), NOW)
    assert (after.status, after.attempts, after.next_retry_at) == (
        NotificationStatus.FAILED,
        1,
        NOW + timedelta(minutes=1),
    )
    assert after.last_error == "PagerDuty answered 503"


def test_fifth_failure_is_dead() -> None:
    """After five attempts the row is dead with its last error and no retry time."""
    after = after_attempt(replace(EVENT, attempts=4), Delivery(ok=False, detail="boom"), NOW)
    assert (after.status, after.attempts, after.next_retry_at, after.last_error) == (
        NotificationStatus.DEAD,
        5,
        None,
        "boom",
    )


def test_permanent_failure_is_dead_at_once() -> None:
    """A failure that retrying cannot fix goes straight to the dead letters."""
    after = after_attempt(EVENT, Delivery(ok=False, detail="400", permanent=True), NOW)
    assert (after.status, after.attempts) == (NotificationStatus.DEAD, 1)


def test_skip_keeps_attempts_and_records_the_reason() -> None:
    """An unconfigured channel is skipped, not counted as an attempt."""
    after = after_attempt(EVENT, Delivery(ok=False, skipped=True, detail="not configured"), NOW)
    assert (after.status, after.attempts, after.last_error) == (
        NotificationStatus.SKIPPED,
        0,
        "not configured",
    )


@pytest.mark.parametrize(
    "status", [NotificationStatus.DEAD, NotificationStatus.FAILED, NotificationStatus.SKIPPED]
)
def test_requeue_resets_to_pending(status: NotificationStatus) -> None:
    """Requeue clears attempts, error and retry time."""
    row = replace(EVENT, status=status, attempts=5, last_error="x", next_retry_at=NOW)
    after = requeued(row, NOW)
    assert (
        after.status,
        after.attempts,
        after.last_error,
        after.next_retry_at,
        after.lease_until,
    ) == (
        NotificationStatus.PENDING,
        0,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (NotificationStatus.PENDING, "notification is already pending"),
        (NotificationStatus.SENT, "notification was delivered (sent); nothing to requeue"),
        (NotificationStatus.READ, "notification was delivered (read); nothing to requeue"),
        (
            NotificationStatus.CANCELLED,
            "notification was cancelled because its alert resolved; nothing to requeue",
        ),
    ],
)
def test_requeue_refuses_pending_and_delivered_rows(
    status: NotificationStatus, message: str
) -> None:
    """Only failed, dead or skipped rows can be requeued."""
    with pytest.raises(Conflict) as caught:
        requeued(replace(EVENT, status=status), NOW)
    assert caught.value.detail == message


def test_retry_after_from_the_channel_pushes_the_retry_later() -> None:
    """A Retry-After longer than the backoff wins; a shorter one does not shorten it."""
    later = after_attempt(EVENT, Delivery(ok=False, detail="429", retry_after=600), NOW)
    sooner = after_attempt(EVENT, Delivery(ok=False, detail="429", retry_after=5), NOW)
    assert (later.next_retry_at, sooner.next_retry_at) == (
        NOW + timedelta(minutes=10),
        NOW + timedelta(minutes=1),
    )


@pytest.mark.parametrize(
    ("seconds", "retry_in"),
    [
        (7200, timedelta(hours=1)),
        (86400, timedelta(hours=1)),
        (86401, timedelta(minutes=1)),
        (999999999999, timedelta(minutes=1)),
        (1e300, timedelta(minutes=1)),
        (float("inf"), timedelta(minutes=1)),
        (float("nan"), timedelta(minutes=1)),
        (-30, timedelta(minutes=1)),
    ],
)
def test_retry_after_is_capped_at_an_hour_and_absurd_values_fall_back(
    seconds: float, retry_in: timedelta
) -> None:
    """Retry-After waits at most 1 h; beyond a day, or not a number, the schedule applies."""
    after = after_attempt(EVENT, Delivery(ok=False, detail="503", retry_after=seconds), NOW)
    assert (after.status, after.next_retry_at) == (NotificationStatus.FAILED, NOW + retry_in)


def test_honoured_retry_after_is_none_without_a_value() -> None:
    """No Retry-After header: nothing to honour."""
    assert honoured_retry_after(None) is None


def test_delivery_lease_covers_one_attempt_and_its_recording() -> None:
    """A 10 s channel timeout gives a 30 s lease: twice the timeout plus 10 s."""
    assert delivery_lease(10.0) == timedelta(seconds=30)


def test_a_cancelled_row_keeps_why_and_is_never_due_again() -> None:
    """Cancelling keeps the row with the reason, no retry time and no lease."""
    failed = replace(EVENT, status=NotificationStatus.FAILED, next_retry_at=NOW)
    after = cancelled(failed, "alert resolved (renewed)", NOW)
    assert (after.status, after.last_error, after.next_retry_at, after.lease_until) == (
        NotificationStatus.CANCELLED,
        "cancelled: alert resolved (renewed)",
        None,
        None,
    )
