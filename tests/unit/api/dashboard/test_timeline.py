"""The 90-day expiry timeline's geometry."""

from __future__ import annotations

import pytest

from certctl.api.dashboard.timeline import Bucket, buckets, build, urgency
from certctl.testing.clock import TEST_EPOCH


def test_buckets_are_weeks_up_to_day_90() -> None:
    """Thirteen slices of a week cover days 0-90; the last holds the remaining 6 days."""
    slices = buckets()
    assert len(slices) == 13
    assert (slices[0], slices[-1]) == (Bucket(0, 7), Bucket(84, 90))


@pytest.mark.parametrize(
    ("start", "css"), [(0, "bar-critical"), (7, "bar-warning"), (28, "bar-warning"), (35, "bar-ok")]
)
def test_urgency_follows_the_first_day_of_the_week(start: int, css: str) -> None:
    """Within a week is critical, within 30 days a warning, later calm."""
    assert urgency(start) == css


def test_bars_are_scaled_to_the_tallest() -> None:
    """The tallest count fills the plot; the others are in proportion; zero is flat."""
    chart = build(TEST_EPOCH, [4, 2, 0, *([0] * 10)])
    first, second, third = chart.bars[:3]
    assert first.height == 160.0
    assert second.height == 80.0
    assert third.height == 0.0
    assert first.y + first.height == chart.baseline
    assert chart.total == 6


def test_bars_are_labelled_with_their_dates() -> None:
    """Each bar carries its first day as a label and its date range as a title."""
    chart = build(TEST_EPOCH, [1, *([0] * 12)])
    assert chart.bars[0].label == "01 Jun"
    assert chart.bars[0].title == "1 expiring 2026-06-01 to 2026-06-07"
    assert chart.bars[-1].title == "0 expiring 2026-08-24 to 2026-08-29"


def test_an_empty_horizon_draws_flat_bars() -> None:
    """With nothing expiring every bar is flat (no division by zero)."""
    chart = build(TEST_EPOCH, [0] * 13)
    assert {bar.height for bar in chart.bars} == {0.0}


def test_the_number_of_counts_must_match_the_buckets() -> None:
    """Counts for another number of weeks are a programming error."""
    with pytest.raises(ValueError, match="expected 13 counts, got 2"):
        build(TEST_EPOCH, [1, 2])


def test_each_bar_links_to_its_week() -> None:
    """A bar links to the certificate list filtered to its days and names them as text."""
    chart = build(TEST_EPOCH, [0] * 13)
    assert chart.bars[0].href == "/certificates?expires_within_days=7&from_day=0"
    assert chart.bars[1].href == "/certificates?expires_within_days=14&from_day=7"
    assert (chart.bars[1].dates, chart.bars[-1].dates) == ("08 Jun to 14 Jun", "24 Aug to 29 Aug")
