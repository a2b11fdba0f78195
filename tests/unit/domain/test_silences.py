"""Silence validation and matching: every given matcher must match, tags by key or key=value."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.silences import DeliveryFacts, Silence, check_silence, matches, muting
from certctl.errors import InvalidRequest

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BASE = Silence(
    id="sil-1",
    reason="decommissioned",
    starts_at=NOW,
    ends_at=NOW + timedelta(hours=2),
    created_at=NOW,
    updated_at=NOW,
    team_id="t-plat",
)
FACTS = DeliveryFacts(
    channel="Slack",
    certificate_id="mc-a",
    owner_id="o-alice",
    team_id="t-plat",
    environment="production",
    issuer_id="iss-1",
    tags={"app": "pay", "pci": ""},
)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": "  "}, "reason"),
        ({"ends_at": NOW}, "ends_at"),
        ({"ends_at": NOW + timedelta(days=90, seconds=1)}, "ends_at"),
        ({"team_id": None}, "matchers"),
    ],
)
def test_invalid_silences_name_the_field(changes: dict[str, object], field: str) -> None:
    """A blank reason, an end not after the start, over 90 days or no matcher is refused."""
    with pytest.raises(InvalidRequest) as caught:
        check_silence(replace(BASE, **changes))  # type: ignore[arg-type]
    assert caught.value.field == field


def test_ninety_days_is_allowed() -> None:
    """Exactly 90 days is the longest silence."""
    check_silence(replace(BASE, ends_at=NOW + timedelta(days=90)))


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        ({"team_id": "t-plat"}, True),
        ({"team_id": "t-plat", "environment": "staging"}, False),
        ({"certificate_id": "mc-a", "owner_id": "o-alice", "issuer_id": "iss-1"}, True),
        ({"channel": "Slack"}, True),
        ({"channel": "Email"}, False),
        ({"tag": "app=pay"}, True),
        ({"tag": "app=web"}, False),
        ({"tag": "pci"}, True),
        ({"tag": "sox"}, False),
    ],
)
def test_matching(matchers: dict[str, str], expected: bool) -> None:
    """A silence matches only when all its matchers match the delivery."""
    silence = replace(BASE, **{"team_id": None, **matchers})  # type: ignore[arg-type]
    assert matches(silence, FACTS) is expected


def test_muting_picks_the_active_silence_ending_last() -> None:
    """Of several matching silences the one ending last mutes; ended or future ones do not."""
    later = replace(BASE, id="sil-2", ends_at=NOW + timedelta(hours=5))
    ended = replace(BASE, id="sil-3", starts_at=NOW - timedelta(hours=3), ends_at=NOW)
    future = replace(BASE, id="sil-4", starts_at=NOW + timedelta(minutes=1))
    assert muting([BASE, later, ended, future], FACTS, NOW) == later
    assert muting([ended, future], FACTS, NOW) is None
    assert BASE.matchers() == {"team_id": "t-plat"}
