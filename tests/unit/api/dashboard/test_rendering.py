"""Template helpers of the dashboard: dates, relative days, badges, safe redirects."""

from __future__ import annotations

from datetime import timedelta

import pytest

from certctl.api.dashboard.rendering import day, relative, status_class, when, zip_pairs
from certctl.api.dashboard.session import safe_next
from certctl.testing.clock import TEST_EPOCH


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(days=12, hours=3), "in 12 d"),
        (timedelta(hours=5), "within a day"),
        (timedelta(hours=-5), "less than a day ago"),
        (timedelta(days=-3, hours=-1), "3 d ago"),
    ],
)
def test_relative_days(delta: timedelta, text: str) -> None:
    """Distances are whole days, with words for less than one."""
    assert relative(TEST_EPOCH, TEST_EPOCH + delta) == text


def test_missing_dates_render_as_a_dash() -> None:
    """No date is an em dash in tables and nothing in relative text."""
    assert (when(None), day(None), relative(TEST_EPOCH, None)) == ("—", "—", "")


def test_dates_are_utc_text() -> None:
    """Timestamps are shown in UTC to the minute; days as ISO dates."""
    assert (when(TEST_EPOCH), day(TEST_EPOCH)) == ("2026-06-01 12:00 UTC", "2026-06-01")


@pytest.mark.parametrize(
    ("status", "css"),
    [("Active", "ok"), ("Expiring", "warn"), ("dead", "bad"), ("Pending", "info"), ("x", "muted")],
)
def test_badges_by_status(status: str, css: str) -> None:
    """Each status maps to one badge colour; unknown ones are muted."""
    assert status_class(status) == css


def test_options_with_equal_value_and_text() -> None:
    """Plain values become (value, text) option pairs."""
    assert zip_pairs(["a", 1]) == [("a", "a"), ("1", "1")]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/jobs?status=Failed", "/jobs?status=Failed"),
        (None, "/"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_only_local_paths_are_followed_after_sign_in(target: str | None, expected: str) -> None:
    """Sign-in returns to local paths only."""
    assert safe_next(target) == expected
