"""Alert thresholds: whole days before expiry, or a share of the validity period (C2, C3).

A threshold is stored as it is written: `30` (days) or `"33%"` (of the time between the
certificate's notBefore and notAfter), so a 6-day certificate alerts about two days before
it expires where a 30-day threshold would fire the moment it is issued.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from certctl.errors import FieldError

Threshold = int | str
"""A threshold as stored: days (`int`) or a percentage (`"33%"`)."""

_PERCENT = re.compile(r"^(\d{1,3}(?:\.\d{1,2})?)%$")
MAX_DAYS = 365


def percent_of(threshold: Threshold) -> float | None:
    """The percentage a `"NN%"` threshold names, or None for a days threshold."""
    if isinstance(threshold, str) and (match := _PERCENT.match(threshold)):
        return float(match.group(1))
    return None


def label(threshold: Threshold) -> str:
    """The threshold as people and keys write it: `30` or `33%`."""
    return str(threshold)


def key_of(raw: str | int) -> Threshold:
    """A stored map key back to its threshold: digits are days, anything else stays text."""
    if isinstance(raw, int):
        return raw
    return int(raw) if raw.isdigit() else raw


def order(thresholds: Sequence[Threshold]) -> tuple[Threshold, ...]:
    """Largest first: days thresholds, then percentages (both descending)."""
    days = sorted((t for t in thresholds if isinstance(t, int)), reverse=True)
    shares = sorted(
        (t for t in thresholds if not isinstance(t, int)),
        key=lambda t: percent_of(t) or 0.0,
        reverse=True,
    )
    return (*days, *shares)


def days_left(expires_at: datetime, now: datetime) -> int:
    """Whole days until expiry, rounded down: negative once expired (C2)."""
    return math.floor((expires_at - now) / timedelta(days=1))


def crossed(
    threshold: Threshold, *, expires_at: datetime, not_before: datetime | None, now: datetime
) -> bool:
    """Whether the certificate is inside `threshold` now.

    A percentage needs the validity period; a record without an issued version has none, so
    only its days thresholds apply.
    """
    share = percent_of(threshold)
    if share is None:
        return isinstance(threshold, int) and days_left(expires_at, now) <= threshold
    if not_before is None or not_before >= expires_at:
        return False
    return expires_at - now <= (expires_at - not_before) * (share / 100)


def threshold_errors(thresholds: Sequence[object], field: str) -> list[FieldError]:
    """Problems of a threshold list, each naming `field[i]`; duplicates name the list."""
    errors = [
        FieldError(f"{field}[{i}]", message)
        for i, value in enumerate(thresholds)
        if (message := _problem(value))
    ]
    seen = [_canonical(t) for t in thresholds]
    if len(set(seen)) != len(seen):
        errors.append(FieldError(field, "thresholds must be unique"))
    return errors


def _problem(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return f'must be whole days or a percentage like "33%", got {value!r}'
    if isinstance(value, int):
        return "" if 0 <= value <= MAX_DAYS else f"must be between 0 and {MAX_DAYS}, got {value}"
    share = percent_of(value)
    if share is None:
        return f'must be whole days or a percentage like "33%", got {value!r}'
    return "" if 0 < share < 100 else f"a percentage must be above 0% and below 100%, got {value}"


def _canonical(value: object) -> object:
    share = percent_of(value) if isinstance(value, str) else None
    return f"{share:g}%" if share is not None else value
