"""The forecast replays the scan's rules once a day: thresholds, overdue, silences, quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from certctl.domain.alert_lifecycle import AlertKind, alert_dedup_key
from certctl.domain.alerts import overdue
from certctl.domain.forecast import Gates, Subject, forecast, instants
from certctl.domain.policies import RenewalPolicy
from certctl.domain.quiet_hours import QuietHours, Window, covers
from certctl.domain.silences import DeliveryFacts, Silence

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def policy(**fields: object) -> RenewalPolicy:
    return RenewalPolicy(id="rp-1", name="p", created_at=NOW, updated_at=NOW, **fields)  # type: ignore[arg-type]


WARN = policy(
    alert_thresholds_days=[7],
    alert_severity_map={7: "warning"},
    alert_channels={"warning": ["Slack", "Pager"]},
    auto_renew=False,
)


def subject(days: float, chosen: RenewalPolicy | None = WARN, issuer: str | None = None) -> Subject:
    return Subject(
        facts=DeliveryFacts(channel="", certificate_id="mc-1", team_id="t-1", issuer_id=issuer),
        version_ref="cv-1",
        expires_at=NOW + timedelta(days=days),
        not_before=None,
        policy=chosen,
    )


def test_instants_are_one_day_apart() -> None:
    """Day i of the forecast is the start plus i days."""
    assert instants(NOW, 3) == [NOW, NOW + timedelta(days=1), NOW + timedelta(days=2)]


def test_a_threshold_fires_once_on_its_day_through_known_channels() -> None:
    """The 7-day threshold fires on day 3 only, through Slack (the off-enum channel is not sent)."""
    [item] = forecast([subject(10.5)], start=NOW, days=10, alerted=set(), gates=Gates())
    assert (item.day, item.kind, item.threshold, item.tier, item.channel) == (
        date(2026, 6, 4),
        AlertKind.EXPIRY,
        "7",
        "warning",
        "Slack",
    )
    assert (item.silence_id, item.held_until) == (None, None)


def test_an_existing_alert_is_not_forecast() -> None:
    """A threshold whose alert exists forecasts nothing."""
    key = alert_dedup_key(AlertKind.EXPIRY, "mc-1", "cv-1", "7")
    assert forecast([subject(3)], start=NOW, days=5, alerted={key}, gates=Gates()) == []


def test_silence_marks_and_quiet_hours_hold() -> None:
    """A matching active silence marks the item; otherwise a quiet window holds it."""
    muted = Silence(
        id="si-1",
        reason="r",
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=1),
        created_at=NOW,
        updated_at=NOW,
        certificate_id="mc-1",
    )
    quiet = QuietHours(
        id="qh-1",
        name="always",
        weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        start="00:00",
        end="23:59",
        timezone="UTC",
        created_at=NOW,
        updated_at=NOW,
    )
    gates = Gates(silences=[muted], quiet=[(quiet, Window.of(quiet))])
    [item] = forecast([subject(3)], start=NOW, days=1, alerted=set(), gates=gates)
    assert (item.silence_id, item.held_until) == ("si-1", None)
    gates = Gates(quiet=[(quiet, Window.of(quiet))])
    [item] = forecast([subject(3)], start=NOW, days=1, alerted=set(), gates=gates)
    assert (item.silence_id, item.held_until) == (None, datetime(2026, 6, 1, 23, 59, tzinfo=UTC))


def test_overdue_follows_the_kind_tier() -> None:
    """A self-renewed certificate past its window plus grace forecasts an overdue alert."""
    renewing = policy(
        alert_thresholds_days=[7],
        alert_channels={"warning": ["Slack"], "critical": ["PagerDuty"]},
        renewal_window_days=10,
    )
    gates = Gates(overdue_tier="critical", overdue_grace=timedelta(hours=24))
    items = forecast(
        [subject(5, renewing, issuer="iss-1")], start=NOW, days=1, alerted=set(), gates=gates
    )
    assert [(i.kind, i.tier, i.channel) for i in items] == [
        (AlertKind.EXPIRY, "warning", "Slack"),
        (AlertKind.OVERDUE, "critical", "PagerDuty"),
    ]


@pytest.mark.parametrize(
    ("renews_itself", "chosen", "days", "expected"),
    [
        (False, None, 1.0, False),
        (True, policy(auto_renew=False), 1.0, False),
        (True, None, 28.9, True),
        (True, None, 29.1, False),
        (True, policy(renewal_window_days=10), 8.9, True),
    ],
)
def test_overdue(
    renews_itself: bool, chosen: RenewalPolicy | None, days: float, expected: bool
) -> None:
    """Overdue once the renewal window (30 days by default) plus grace has passed."""
    found = overdue(
        renews_itself=renews_itself,
        policy=chosen,
        expires_at=NOW + timedelta(days=days),
        now=NOW,
        grace=timedelta(days=1),
    )
    assert found is expected


@pytest.mark.parametrize(
    ("channel", "team", "wanted_channel", "wanted_team", "expected"),
    [
        (None, None, "Slack", None, True),
        ("Slack", None, "Slack", None, True),
        ("Email", None, "Slack", None, False),
        (None, "t-1", "Slack", "t-1", True),
        (None, "t-1", "Slack", "t-2", False),
    ],
)
def test_quiet_hours_cover_their_scope(
    channel: str | None,
    team: str | None,
    wanted_channel: str,
    wanted_team: str | None,
    expected: bool,
) -> None:
    """An unset scope covers every channel or team."""
    quiet = QuietHours(
        id="qh-1",
        name="n",
        weekdays=("mon",),
        start="22:00",
        end="07:00",
        timezone="UTC",
        created_at=NOW,
        updated_at=NOW,
        channel=channel,
        team_id=team,
    )
    assert covers(quiet, wanted_channel, wanted_team) is expected
