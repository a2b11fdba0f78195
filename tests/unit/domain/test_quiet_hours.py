"""Quiet-hour windows in local time, DST-correct in Europe/Berlin, and their validation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from certctl.domain.quiet_hours import (
    QuietHours,
    Window,
    check_quiet_hours,
    held_until,
    parse_clock,
)
from certctl.errors import InvalidRequest

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NIGHTS = QuietHours(
    id="qh-1",
    name="nights",
    weekdays=("sat",),
    start="22:00",
    end="07:00",
    timezone="Europe/Berlin",
    created_at=T0,
    updated_at=T0,
    team_id="t-plat",
)
WINDOW = Window.of(NIGHTS)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "end"),
    [
        # 2026-03-29: clocks go 02:00 CET -> 03:00 CEST; 07:00 CEST is 05:00 UTC (8 h window).
        (utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 5, 0)),
        (utc(2026, 3, 29, 4, 59), utc(2026, 3, 29, 5, 0)),
        (utc(2026, 3, 29, 5, 0), None),
        (utc(2026, 3, 28, 20, 59), None),
        # 2026-10-25: clocks go 03:00 CEST -> 02:00 CET; 07:00 CET is 06:00 UTC (10 h window).
        (utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 6, 0)),
        (utc(2026, 10, 25, 5, 59), utc(2026, 10, 25, 6, 0)),
        (utc(2026, 10, 25, 6, 0), None),
        (utc(2026, 10, 24, 19, 59), None),
        # A Friday night is not in a Saturday-only window.
        (utc(2026, 3, 27, 22, 0), None),
    ],
)
def test_window_across_berlin_dst_changes(now: datetime, end: datetime | None) -> None:
    """A 22:00-07:00 Berlin window ends at 07:00 local on both nights the clocks change."""
    assert WINDOW.held_until(now) == end


def test_same_day_window() -> None:
    """A 09:00-17:00 window on a weekday holds until 17:00 local that day."""
    office = Window.of(replace(NIGHTS, weekdays=("mon",), start="09:00", end="17:00"))
    assert office.held_until(utc(2026, 6, 1, 10, 0)) == utc(2026, 6, 1, 15, 0)
    assert office.held_until(utc(2026, 6, 1, 15, 0)) is None


def test_critical_is_never_held_and_the_latest_end_wins() -> None:
    """Critical deliveries pass; otherwise the latest end of the open windows holds."""
    longer = Window.of(replace(NIGHTS, end="09:00"))
    now = utc(2026, 6, 6, 21, 0)
    assert held_until([WINDOW, longer], now, "critical") is None
    assert held_until([WINDOW, longer], now, "warning") == utc(2026, 6, 7, 7, 0)
    assert held_until([], now, "warning") is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"team_id": None}, "team_id"),
        ({"weekdays": ()}, "weekdays"),
        ({"weekdays": ("sat", "Sunday")}, "weekdays[1]"),
        ({"start": "25:00"}, "start"),
        ({"start": "7:00"}, "start"),
        ({"end": "0700"}, "end"),
        ({"end": "22:00"}, "end"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": ""}, "timezone"),
    ],
)
def test_invalid_windows_name_the_field(changes: dict[str, object], field: str) -> None:
    """Bad scope, weekdays, times or zones are refused naming the field."""
    with pytest.raises(InvalidRequest) as caught:
        check_quiet_hours(replace(NIGHTS, **changes))  # type: ignore[arg-type]
    assert caught.value.field == field


def test_channel_scope_alone_is_valid() -> None:
    """A window for a channel without a team is accepted."""
    check_quiet_hours(replace(NIGHTS, team_id=None, channel="Slack"))
    assert parse_clock("00:00", "start").hour == 0
