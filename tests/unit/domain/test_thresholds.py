"""Days and percentage thresholds: parsing, order, crossing and validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.policies import RenewalPolicy, effective_alert_severity
from certctl.domain.thresholds import (
    crossed,
    key_of,
    label,
    order,
    percent_of,
    threshold_errors,
)
from certctl.errors import FieldError

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("33%", 33.0), ("12.5%", 12.5), ("100%", 100.0), ("33", None), (33, None), ("x%", None)],
)
def test_percent_of_reads_only_percentages(value: int | str, expected: float | None) -> None:
    """Only "NN%" (up to two decimals) is a percentage; days and other text are not."""
    assert percent_of(value) == expected


@pytest.mark.parametrize(("raw", "expected"), [("7", 7), (7, 7), ("33%", "33%")])
def test_key_of_turns_digits_into_days(raw: str | int, expected: int | str) -> None:
    """A stored map key of digits is a days threshold; anything else stays as written."""
    assert key_of(raw) == expected


def test_order_puts_days_first_then_percentages_largest_first() -> None:
    """[7, "10%", 30, "33%"] is ordered 30, 7, "33%", "10%"; labels are as written."""
    ordered = order([7, "10%", 30, "33%"])
    assert ordered == (30, 7, "33%", "10%")
    assert [label(t) for t in ordered] == ["30", "7", "33%", "10%"]


def test_a_percentage_is_crossed_once_that_share_of_validity_is_left() -> None:
    """33 % of 6 days is 47.52 h: crossed at 47.52 h left, not a second before."""
    not_before, expires_at = NOW, NOW + timedelta(days=6)
    at = expires_at - timedelta(hours=47.52)
    assert crossed("33%", expires_at=expires_at, not_before=not_before, now=at)
    early = at - timedelta(seconds=1)
    assert not crossed("33%", expires_at=expires_at, not_before=not_before, now=early)


@pytest.mark.parametrize("not_before", [None, NOW + timedelta(days=6)])
def test_a_percentage_needs_a_validity_period(not_before: datetime | None) -> None:
    """Without notBefore (or with one not before notAfter) a percentage never fires."""
    expires_at = NOW + timedelta(days=6)
    assert not crossed("50%", expires_at=expires_at, not_before=not_before, now=expires_at)


def test_a_malformed_text_threshold_is_never_crossed() -> None:
    """A stored text that is not a percentage cannot fire."""
    assert not crossed("soon", expires_at=NOW, not_before=None, now=NOW)


def test_days_thresholds_use_whole_days_left() -> None:
    """7 is crossed at 7 days and 23 hours left."""
    expires_at = NOW + timedelta(days=7, hours=23)
    assert crossed(7, expires_at=expires_at, not_before=None, now=NOW)


def test_threshold_errors_name_each_bad_entry_and_duplicates() -> None:
    """Out-of-range days, 0 %, 100 %, text, a float and a duplicate are all reported."""
    errors = threshold_errors([400, "0%", "100%", "soon", 1.5, "10%", "10.0%"], "t")
    assert [e.field for e in errors] == ["t[0]", "t[1]", "t[2]", "t[3]", "t[4]", "t"]
    assert errors[1] == FieldError("t[1]", "a percentage must be above 0% and below 100%, got 0%")
    assert errors[-1] == FieldError("t", "thresholds must be unique")


def test_a_percentage_tier_comes_from_the_map_or_is_informational() -> None:
    """ "10%" takes its tier from the policy map; unmapped it is informational."""
    policy = RenewalPolicy(
        id="rp", name="p", created_at=NOW, updated_at=NOW, alert_severity_map={"10%": "critical"}
    )
    assert effective_alert_severity(policy, "10%") == "critical"
    assert effective_alert_severity(policy, "20%") == "informational"
