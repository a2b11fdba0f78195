"""Injected time: the system clock is UTC-aware, the frozen clock only moves when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from certctl.clock import FrozenClock, SystemClock

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_system_clock_returns_current_utc_time() -> None:
    """SystemClock.now() is timezone-aware UTC and lies between two OS readings."""
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)
    assert (now.tzinfo, before <= now <= after) == (UTC, True)


def test_frozen_clock_returns_its_start() -> None:
    """A FrozenClock returns the instant it was created with, again and again."""
    clock = FrozenClock(NOW)
    assert (clock.now(), clock.now()) == (NOW, NOW)


def test_frozen_clock_normalises_start_to_utc() -> None:
    """A start in another zone is stored as the same instant in UTC."""
    start = datetime(2026, 6, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    now = FrozenClock(start).now()
    assert (now, now.tzinfo) == (NOW, UTC)


def test_frozen_clock_refuses_naive_start() -> None:
    """A naive start datetime is a TypeError."""
    with pytest.raises(TypeError, match=r"^FrozenClock needs a timezone-aware datetime$"):
        FrozenClock(datetime(2026, 6, 1, 12))


def test_frozen_clock_advance_moves_forward_by_delta() -> None:
    """advance() adds the delta to the frozen instant."""
    clock = FrozenClock(NOW)
    clock.advance(timedelta(days=1, seconds=5))
    assert clock.now() == datetime(2026, 6, 2, 12, 0, 5, tzinfo=UTC)


def test_frozen_clock_set_jumps_to_instant_in_utc() -> None:
    """set() jumps to the given instant, normalised to UTC."""
    clock = FrozenClock(NOW)
    clock.set(datetime(2027, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    assert (clock.now(), clock.now().tzinfo) == (datetime(2027, 1, 1, 0, tzinfo=UTC), UTC)


def test_frozen_clock_set_refuses_naive_instant() -> None:
    """set() with a naive datetime is a TypeError and leaves the clock unchanged."""
    clock = FrozenClock(NOW)
    with pytest.raises(TypeError, match=r"^FrozenClock needs a timezone-aware datetime$"):
        clock.set(datetime(2027, 1, 1))
    assert clock.now() == NOW
