"""The dashboard's expiry timeline: weekly expiry counts for the next 90 days as SVG geometry.

Drawn on the server as inline SVG (no script): the template only writes out the rectangles
and labels computed here. Colours come from CSS classes, as the page's CSP forbids inline
styles. Each bar links to the certificate list filtered to its week, and the same weeks are
written out as a text list below the chart (its phone form, and readable without hovering).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

HORIZON_DAYS = 90
BUCKET_DAYS = 7
WIDTH = 720
HEIGHT = 220
_TOP = 24  # room for the count above the tallest bar
_BOTTOM = 36  # room for the date labels
_LEFT = 8
_GAP = 6


@dataclass(frozen=True)
class Bucket:
    """One slice of the horizon: [start, end) in days from now."""

    start_day: int
    end_day: int


@dataclass(frozen=True)
class Bar:
    """One drawn bar with its label and accessible description."""

    x: float
    y: float
    width: float
    height: float
    count: int
    css: str
    label: str
    title: str
    label_x: float
    start_day: int
    end_day: int
    dates: str

    @property
    def href(self) -> str:
        """The certificate list filtered to this bar's days."""
        return f"/certificates?expires_within_days={self.end_day}&from_day={self.start_day}"


@dataclass(frozen=True)
class Timeline:
    """Everything the template needs to draw the chart."""

    bars: tuple[Bar, ...]
    width: int
    height: int
    baseline: float
    total: int


def buckets() -> tuple[Bucket, ...]:
    """Weekly slices covering days 0-90 (the last one is shorter)."""
    starts = range(0, HORIZON_DAYS, BUCKET_DAYS)
    return tuple(Bucket(s, min(s + BUCKET_DAYS, HORIZON_DAYS)) for s in starts)


def urgency(start_day: int) -> str:
    """CSS class of a slice: critical within a week, warning within 30 days, else calm."""
    if start_day < 7:
        return "bar-critical"
    if start_day < 30:
        return "bar-warning"
    return "bar-ok"


def build(now: datetime, counts: Sequence[int]) -> Timeline:
    """Bars for `counts`, one per bucket of `buckets()`, scaled to the tallest."""
    slices = buckets()
    if len(counts) != len(slices):
        raise ValueError(f"expected {len(slices)} counts, got {len(counts)}")
    plot_height = HEIGHT - _TOP - _BOTTOM
    slot = (WIDTH - 2 * _LEFT) / len(slices)
    tallest = max(*counts, 1)
    bars = []
    for index, (bucket, count) in enumerate(zip(slices, counts, strict=True)):
        height = plot_height * count / tallest
        x = _LEFT + index * slot + _GAP / 2
        first = now + timedelta(days=bucket.start_day)
        last = now + timedelta(days=bucket.end_day - 1)
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(_TOP + plot_height - height, 1),
                width=round(slot - _GAP, 1),
                height=round(height, 1),
                count=count,
                css=urgency(bucket.start_day),
                label=first.strftime("%d %b"),
                title=(
                    f"{count} expiring {first.strftime('%Y-%m-%d')} to {last.strftime('%Y-%m-%d')}"
                ),
                label_x=round(x + (slot - _GAP) / 2, 1),
                start_day=bucket.start_day,
                end_day=bucket.end_day,
                dates=f"{first.strftime('%d %b')} to {last.strftime('%d %b')}",
            )
        )
    return Timeline(
        bars=tuple(bars),
        width=WIDTH,
        height=HEIGHT,
        baseline=float(_TOP + plot_height),
        total=sum(counts),
    )
