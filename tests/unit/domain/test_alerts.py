"""Expiry arithmetic, threshold crossing, tier and channel resolution, keys and subjects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.alerts import (
    ThresholdDecision,
    crossed_thresholds,
    days_left,
    dedup_key,
    expiry_subject,
    incident_key,
)
from certctl.domain.policies import RenewalPolicy

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def policy(**fields: object) -> RenewalPolicy:
    return RenewalPolicy(id="rp-1", name="p", created_at=NOW, updated_at=NOW, **fields)  # type: ignore[arg-type]


def at_days(chosen: RenewalPolicy | None, left: int) -> list[ThresholdDecision]:
    """The thresholds crossed by a certificate `left` whole days (and an hour) from expiry."""
    expires_at = NOW + timedelta(days=left, hours=1)
    return crossed_thresholds(chosen, expires_at=expires_at, not_before=None, now=NOW)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(days=30), 30),
        (timedelta(days=29, hours=23), 29),
        (timedelta(hours=21), 0),
        (timedelta(0), 0),
        (timedelta(seconds=-1), -1),
        (timedelta(days=-3), -3),
    ],
)
def test_days_left_rounds_down(delta: timedelta, expected: int) -> None:
    """days_left is floor((expires_at - now) / 1 day), negative once expired."""
    assert days_left(NOW + delta, NOW) == expected


def test_all_crossed_thresholds_in_one_pass_with_default_tiers() -> None:
    """A certificate first seen at 0 days gets T-30, T-14, T-7 and T-0, Email at each."""
    found = at_days(None, 0)
    assert [(t.threshold, t.tier, [c.channel for c in t.channels]) for t in found] == [
        (30, "informational", ["Email"]),
        (14, "warning", ["Email"]),
        (7, "warning", ["Email"]),
        (0, "critical", ["Email"]),
    ]


def test_threshold_is_crossed_when_days_left_equals_it() -> None:
    """At exactly 14 days left, T-30 and T-14 are due, T-7 is not."""
    assert [t.threshold for t in at_days(None, 14)] == [30, 14]


def test_nothing_crossed_far_from_expiry() -> None:
    """31 days out nothing is due under the default thresholds."""
    assert at_days(None, 31) == []


def test_configured_matrix_is_used_as_is_and_marks_off_enum_channels() -> None:
    """A tier missing from the matrix gets no channels; an unknown channel is marked invalid."""
    found = at_days(
        policy(alert_thresholds_days=(7, 0), alert_channels={"critical": ("PagerD", "Slack")}),
        0,
    )
    assert (found[0].threshold, found[0].channels) == (7, ())
    assert [(c.channel, c.valid) for c in found[1].channels] == [("PagerD", False), ("Slack", True)]


def test_keys_are_stable_and_distinct_per_part() -> None:
    """The dedup key changes with every part; the incident key is shared across channels."""
    base = dedup_key("mc-1", "cv-1", 7, "Email")
    assert base == dedup_key("mc-1", "cv-1", 7, "Email")
    assert len(base) == 40
    variants = {
        dedup_key("mc-2", "cv-1", 7, "Email"),
        dedup_key("mc-1", "cv-2", 7, "Email"),
        dedup_key("mc-1", "cv-1", 14, "Email"),
        dedup_key("mc-1", "cv-1", 7, "Slack"),
    }
    assert base not in variants
    assert len(variants) == 4
    assert incident_key("mc-1", "cv-1", 7) == "certctl-mc-1-cv-1-T7"


@pytest.mark.parametrize(
    ("delta", "subject"),
    [
        (timedelta(days=3, hours=2), "Certificate api expires in 3 days (2026-06-04)"),
        (timedelta(days=1, hours=2), "Certificate api expires in 1 day (2026-06-02)"),
        (timedelta(hours=21), "[EXPIRES TODAY] Certificate api expires at 2026-06-02 09:00 UTC"),
        (timedelta(hours=-2), "[EXPIRED] Certificate api expired on 2026-06-01 10:00 UTC"),
    ],
)
def test_subject_says_expired_only_once_it_is(delta: timedelta, subject: str) -> None:
    """0.9 days left is 'expires today', not '[EXPIRED]' (the reference's truncation bug)."""
    expires = NOW + delta
    assert expiry_subject("api", days_left(expires, NOW), expires, NOW) == subject


def test_expiry_subject_is_one_line_whatever_the_name() -> None:
    """Control characters in a stored name become spaces, so the subject stays one header line."""
    expires = NOW + timedelta(days=10)
    subject = expiry_subject("web\r\nBcc: x\u2028y\x00", 10, expires, NOW)
    assert subject == f"Certificate web Bcc: x y  expires in 10 days ({expires:%Y-%m-%d})"
