"""Rate-limit rules: fixed windows, Retry-After and the sign-in back-off (C10)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from certctl.domain.ratelimits import Backoff, Rule, seconds_until

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_window_starts_on_the_minute() -> None:
    """A 60 s window holding 12:00:42.5 starts at 12:00:00."""
    assert Rule(10).window_start(NOON.replace(second=42, microsecond=500_000)) == NOON


def test_retry_after_counts_to_the_end_of_the_window_rounded_up() -> None:
    """At 12:00:42.5 a 60 s window ends in 17.5 s, answered as 18."""
    assert Rule(10).retry_after(NOON.replace(second=42, microsecond=500_000)) == 18


def test_retry_after_at_a_window_start_is_the_whole_window() -> None:
    """Exactly on a window boundary the wait is the whole window."""
    assert Rule(10, window_seconds=300).retry_after(NOON) == 300


def test_zero_limit_is_off() -> None:
    """A limit of 0 switches the rule off."""
    assert (Rule(0).enabled, Rule(1).enabled) == (False, True)


@pytest.mark.parametrize(("limit", "window"), [(-1, 60), (5, 0)])
def test_invalid_rule_is_refused(limit: int, window: int) -> None:
    """A negative limit or an empty window is a ValueError."""
    with pytest.raises(ValueError, match="rate limit"):
        Rule(limit, window_seconds=window)


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0.0), (4, 0.0), (5, 30.0), (6, 60.0), (7, 120.0), (12, 3600.0), (500, 3600.0)],
)
def test_backoff_doubles_after_the_threshold_up_to_the_cap(failures: int, seconds: float) -> None:
    """No lock before 5 failures, then 30 s doubling per failure, capped at 1 h."""
    assert Backoff(after=5, base_seconds=30, cap_seconds=3600).lock_seconds(failures) == seconds


def test_backoff_with_zero_threshold_is_off() -> None:
    """`after=0` never locks."""
    assert Backoff(after=0).lock_seconds(1000) == 0.0


def test_seconds_until_is_at_least_one() -> None:
    """A moment already past still answers a Retry-After of 1."""
    assert seconds_until(NOON, NOON.replace(minute=5)) == 1
