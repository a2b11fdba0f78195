"""The effective alert route: where each channel is configured and why a cell is skipped."""

from __future__ import annotations

from certctl.domain.notifications import NotificationChannel
from certctl.domain.policies import RenewalPolicy
from certctl.services.routing import ChannelSetup, RouteRow, RouteStep, route_rows, setups_of
from certctl.testing.clock import TEST_EPOCH


def _stored(name: str, kind: str, *, enabled: bool = True, **config: str) -> NotificationChannel:
    return NotificationChannel(
        id=f"nc-{name}",
        name=name,
        channel=kind,
        created_at=TEST_EPOCH,
        updated_at=TEST_EPOCH,
        config=config,
        enabled=enabled,
    )


def test_a_stored_channel_overrides_the_environment_and_secrets_are_masked() -> None:
    """Slack stored beats Slack from the environment; a disabled one does not count."""
    setups = setups_of(
        [
            _stored("off", "Teams", enabled=False, webhook_url="https://t.example/x"),
            _stored("ops", "Slack", webhook_url="https://hooks.slack.com/x", channel="#ops"),
        ],
        {"Slack": {"webhook_url": "https://env/x"}, "PagerDuty": {"routing_key": "rk"}},
    )
    by_channel = {s.channel: s for s in setups}
    assert by_channel["Slack"] == ChannelSetup(
        "Slack", "database", "ops", "nc-ops", {"webhook_url": "********", "channel": "#ops"}
    )
    assert by_channel["PagerDuty"] == ChannelSetup(
        "PagerDuty", "environment", "CERTCTL_* variables", None, {"routing_key": "********"}
    )
    assert by_channel["Teams"] == ChannelSetup("Teams", "")
    assert [s.channel for s in setups] == [
        "Email",
        "Webhook",
        "Slack",
        "Teams",
        "PagerDuty",
        "OpsGenie",
    ]


def test_route_rows_say_why_each_cell_would_be_skipped() -> None:
    """Unconfigured Slack, Email without a recipient, and an opted-out tier are each explained."""
    policy = RenewalPolicy(
        id="rp",
        name="p",
        created_at=TEST_EPOCH,
        updated_at=TEST_EPOCH,
        alert_thresholds_days=(30, 0),
        alert_channels={"informational": (), "critical": ("Email", "Slack")},
    )
    setups = (
        ChannelSetup("Email", "environment", "CERTCTL_* variables"),
        ChannelSetup("Slack", ""),
    )
    assert route_rows(policy, setups, ()) == (
        RouteRow(30, "informational", ()),
        RouteRow(
            0,
            "critical",
            (
                RouteStep(
                    "Email", "", "environment", "no recipient: the certificate has no owner email"
                ),
                RouteStep("Slack", "", "", "channel Slack is not configured"),
            ),
        ),
    )
