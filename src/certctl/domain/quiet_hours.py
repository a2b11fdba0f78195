"""Quiet hours: local-time windows in which non-critical deliveries are held (C3).

A window starts on each of its weekdays at `start` local time in its IANA zone and ends at
`end` local time — the next day when `end` is not after `start`. The arithmetic happens on
local wall-clock times and only then turns into UTC, so a 22:00-07:00 Europe/Berlin window
ends at 07:00 local on the nights the clocks change (8 or 10 hours long, not 9).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from certctl.errors import InvalidRequest

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CRITICAL = "critical"


@dataclass(frozen=True)
class QuietHours:
    """One team's or one channel's quiet window (both given: that team on that channel)."""

    id: str
    name: str
    weekdays: tuple[str, ...]
    start: str
    end: str
    timezone: str
    created_at: datetime
    updated_at: datetime
    team_id: str | None = None
    channel: str | None = None
    enabled: bool = True


def parse_clock(value: str, field: str) -> time:
    """A local time of day written HH:MM (00:00-23:59)."""
    try:
        hours, minutes = value.split(":")
        parsed = time(int(hours), int(minutes))
    except ValueError:
        raise InvalidRequest(f"{value!r} is not a time of day HH:MM", field=field) from None
    if len(hours) != 2 or len(minutes) != 2:
        raise InvalidRequest(f"{value!r} is not a time of day HH:MM", field=field)
    return parsed


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone named `name`, or InvalidRequest naming the field."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"unknown IANA time zone {name!r}", field="timezone") from None


def check_quiet_hours(quiet: QuietHours) -> None:
    """Refuse a window without scope or weekdays, with a bad time, zone or empty length."""
    if not quiet.team_id and not quiet.channel:
        raise InvalidRequest("quiet hours apply to a team_id, a channel or both", field="team_id")
    if not quiet.weekdays:
        raise InvalidRequest("give at least one weekday", field="weekdays")
    for index, day in enumerate(quiet.weekdays):
        if day not in WEEKDAYS:
            allowed = ", ".join(WEEKDAYS)
            raise InvalidRequest(
                f"unknown weekday {day!r}; allowed: {allowed}", field=f"weekdays[{index}]"
            )
    if parse_clock(quiet.start, "start") == parse_clock(quiet.end, "end"):
        raise InvalidRequest("end must differ from start", field="end")
    zone_of(quiet.timezone)


@dataclass(frozen=True)
class Window:
    """The arithmetic form of a quiet window."""

    weekdays: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def of(cls, quiet: QuietHours) -> Window:
        """The window of a stored (already checked) QuietHours."""
        days = frozenset(WEEKDAYS.index(d) for d in quiet.weekdays)
        return cls(
            days,
            parse_clock(quiet.start, "start"),
            parse_clock(quiet.end, "end"),
            zone_of(quiet.timezone),
        )

    def bounds(self, day: date) -> tuple[datetime, datetime]:
        """The UTC start and end of the window that starts on local date `day`."""
        end_day = day + timedelta(days=1) if self.end <= self.start else day
        start = datetime.combine(day, self.start, self.zone)
        end = datetime.combine(end_day, self.end, self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def held_until(self, now: datetime) -> datetime | None:
        """The UTC end of the window `now` falls in, or None outside every window."""
        today = now.astimezone(self.zone).date()
        ends = []
        for day in (today - timedelta(days=1), today):
            if day.weekday() not in self.weekdays:
                continue
            start, end = self.bounds(day)
            if start <= now < end:
                ends.append(end)
        return max(ends) if ends else None


def held_until(windows: Iterable[Window], now: datetime, severity_tier: str) -> datetime | None:
    """When a delivery may go out if quiet hours hold it now; critical is never held."""
    if severity_tier == CRITICAL:
        return None
    ends = [end for w in windows if (end := w.held_until(now)) is not None]
    return max(ends) if ends else None


def covers(quiet: QuietHours, channel: str, team_id: str | None) -> bool:
    """Whether a window covers this channel and team (an unset scope covers all)."""
    return (quiet.channel is None or quiet.channel == channel) and (
        quiet.team_id is None or quiet.team_id == team_id
    )
