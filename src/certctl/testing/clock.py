"""The instant tests freeze time at, so expiry arithmetic is reproducible."""

from __future__ import annotations

from datetime import UTC, datetime

from certctl.clock import FrozenClock

TEST_EPOCH = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def frozen_clock() -> FrozenClock:
    """A FrozenClock at TEST_EPOCH."""
    return FrozenClock(TEST_EPOCH)
