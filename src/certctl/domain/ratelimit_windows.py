"""Per-channel delivery rate limits over fixed minute and hour windows (C3).

Windows are aligned to the UTC clock (12:07:00 to 12:08:00, 12:00 to 13:00), so every replica
counts the same window. Deliveries beyond a limit are folded into one digest per channel that
goes out when the full window reopens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from certctl.errors import InvalidRequest

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DIGEST_NAMES = 20
"""How many certificate names a digest lists before it says "and N more"."""


@dataclass(frozen=True)
class ChannelRateLimit:
    """At most `per_minute` and `per_hour` deliveries of one channel (None = no limit)."""

    per_minute: int | None = None
    per_hour: int | None = None

    @classmethod
    def parse(cls, channel: str, value: Mapping[str, Any]) -> ChannelRateLimit:
        """A limit from settings (`{"per_minute": 10, "per_hour": 100}`), fields checked."""
        unknown = set(value) - {"per_minute", "per_hour"}
        if unknown:
            raise InvalidRequest(
                f"unknown rate limit field {sorted(unknown)[0]!r}", field=f"{channel}"
            )
        limits = {k: value.get(k) for k in ("per_minute", "per_hour")}
        for name, limit in limits.items():
            if limit is not None and (not isinstance(limit, int) or limit < 1):
                raise InvalidRequest(
                    "a rate limit is a whole number ≥ 1", field=f"{channel}.{name}"
                )
        return cls(**limits)


def window_start(now: datetime, length: timedelta) -> datetime:
    """The start of the minute or hour window holding `now`."""
    if length == MINUTE:
        return now.replace(second=0, microsecond=0)
    return now.replace(minute=0, second=0, microsecond=0)


@dataclass
class WindowCount:
    """Deliveries admitted in the current minute and hour windows of one channel."""

    limit: ChannelRateLimit
    minute_start: datetime
    hour_start: datetime
    in_minute: int = 0
    in_hour: int = 0

    def current(self, now: datetime) -> bool:
        """Whether these counts are of the windows that hold `now`."""
        return (self.minute_start, self.hour_start) == (
            window_start(now, MINUTE),
            window_start(now, HOUR),
        )

    def reopens_at(self) -> datetime | None:
        """None when one more delivery fits; otherwise when the full windows have all reopened."""
        ends = []
        if self.limit.per_minute is not None and self.in_minute >= self.limit.per_minute:
            ends.append(self.minute_start + MINUTE)
        if self.limit.per_hour is not None and self.in_hour >= self.limit.per_hour:
            ends.append(self.hour_start + HOUR)
        return max(ends) if ends else None

    def admit(self) -> None:
        """Count one delivery that goes out."""
        self.in_minute += 1
        self.in_hour += 1


def digest_text(channel: str, count: int, names: list[str], link: str | None) -> tuple[str, str]:
    """Subject and body of a digest of `count` folded alerts (the first names listed)."""
    subject = f"{count} certificate alert{'s' if count != 1 else ''} held back by the {channel} rate limit"
    lines = [subject, "", "Certificates:"]
    lines += [f"- {name}" for name in names[:DIGEST_NAMES]]
    if count > len(names[:DIGEST_NAMES]):
        lines.append(f"- … and {count - len(names[:DIGEST_NAMES])} more")
    if link:
        lines += ["", f"All of them: {link}"]
    return subject, "\n".join(lines)
