"""Channel rate-limit windows: parsing, counting, reopening and the digest text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.ratelimit_windows import (
    HOUR,
    MINUTE,
    ChannelRateLimit,
    WindowCount,
    digest_text,
    window_start,
)
from certctl.errors import InvalidRequest

NOW = datetime(2026, 6, 1, 12, 7, 42, 500, tzinfo=UTC)


def counts(per_minute: int | None, per_hour: int | None) -> WindowCount:
    limit = ChannelRateLimit(per_minute, per_hour)
    return WindowCount(limit, window_start(NOW, MINUTE), window_start(NOW, HOUR))


def test_windows_align_to_the_clock() -> None:
    """12:07:42 is in the 12:07 minute and the 12:00 hour."""
    assert window_start(NOW, MINUTE) == datetime(2026, 6, 1, 12, 7, tzinfo=UTC)
    assert window_start(NOW, HOUR) == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_minute_limit_reopens_at_the_next_minute() -> None:
    """After 2 of 2 the minute is full until 12:08."""
    count = counts(2, None)
    for _ in range(2):
        assert count.reopens_at() is None
        count.admit()
    assert count.reopens_at() == datetime(2026, 6, 1, 12, 8, tzinfo=UTC)


def test_full_hour_reopens_at_the_next_hour() -> None:
    """With both windows full, the later reopening (the hour) counts."""
    count = counts(1, 1)
    count.admit()
    assert count.reopens_at() == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)


def test_counts_belong_to_their_windows() -> None:
    """Counts are current within their minute and hour only."""
    count = counts(None, 5)
    assert count.current(NOW + timedelta(seconds=10))
    assert not count.current(NOW + timedelta(minutes=1))


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"per_second": 1}, "Slack"),
        ({"per_minute": 0}, "Slack.per_minute"),
        ({"per_hour": "10"}, "Slack.per_hour"),
    ],
)
def test_bad_limits_are_refused(value: dict[str, object], field: str) -> None:
    """Unknown fields and limits below 1 are refused naming the field."""
    with pytest.raises(InvalidRequest) as caught:
        ChannelRateLimit.parse("Slack", value)
    assert caught.value.field == field


def test_limits_parse() -> None:
    """Both fields parse; a missing one is no limit."""
    assert ChannelRateLimit.parse("Slack", {"per_minute": 10}) == ChannelRateLimit(10, None)


def test_digest_lists_names_and_the_rest() -> None:
    """A digest names its first 20 certificates, counts the rest and links to them all."""
    names = [f"c{i}" for i in range(25)]
    subject, body = digest_text("Slack", 30, names, "https://x/notifications?digest_id=ne-1")
    assert subject == "30 certificate alerts held back by the Slack rate limit"
    lines = body.splitlines()
    assert (lines[3], lines[22]) == ("- c0", "- c19")
    assert lines[23] == "- … and 10 more"
    assert lines[-1] == "All of them: https://x/notifications?digest_id=ne-1"
    one, short = digest_text("Email", 1, ["only"], None)
    assert one == "1 certificate alert held back by the Email rate limit"
    assert short.splitlines()[-1] == "- only"
