"""Digest periods: the UTC date from 08:00, the ISO week from Monday 08:00, none when off."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from certctl.domain.owner_digests import DigestFrequency, digest_period

MONDAY_8 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("frequency", "now", "period"),
    [
        ("off", MONDAY_8, None),
        ("daily", datetime(2026, 6, 1, 7, 59, tzinfo=UTC), None),
        ("daily", MONDAY_8, "2026-06-01"),
        ("daily", datetime(2026, 6, 3, 23, 59, tzinfo=UTC), "2026-06-03"),
        ("weekly", datetime(2026, 6, 1, 7, 59, tzinfo=UTC), None),
        ("weekly", MONDAY_8, "2026-W23"),
        ("weekly", datetime(2026, 6, 2, 9, 0, tzinfo=UTC), None),
        ("weekly", datetime(2026, 12, 28, 8, 0, tzinfo=UTC), "2026-W53"),
    ],
)
def test_digest_period(frequency: str, now: datetime, period: str | None) -> None:
    """Each frequency is due from the fixed hour, weekly only on Mondays (ISO weeks)."""
    assert digest_period(frequency, now) == period


def test_frequencies_are_a_closed_set() -> None:
    """off, daily and weekly, nothing else."""
    assert [f.value for f in DigestFrequency] == ["off", "daily", "weekly"]
