"""Per-owner digests of what needs human action, daily or weekly, opt-in (C3).

An owner chooses `digest`: off (the default), daily or weekly. The digest loop sends at a
fixed hour UTC; each period has a key (the UTC date, or the ISO week) that makes the delivery
unique, so an owner gets at most one digest per period whatever the number of ticks.
"""

from __future__ import annotations

import enum
from datetime import datetime

DIGEST_HOUR_UTC = 8
"""Digests go out from 08:00 UTC (weekly ones on Mondays)."""


class DigestFrequency(enum.StrEnum):
    """How often an owner receives a digest."""

    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"


def digest_period(frequency: str, now: datetime, hour: int = DIGEST_HOUR_UTC) -> str | None:
    """The period a digest sent at `now` covers, or None when none is due yet.

    Daily: the UTC date from `hour` on. Weekly: the ISO week (ISO 8601 §4.1.4), from `hour`
    on Monday.
    """
    if frequency == DigestFrequency.OFF or now.hour < hour:
        return None
    if frequency == DigestFrequency.DAILY:
        return f"{now:%Y-%m-%d}"
    if now.isoweekday() != 1:
        return None
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"
