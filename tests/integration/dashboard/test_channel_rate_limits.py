"""The Settings page shows each channel's rate limit from CERTCTL_NOTIFICATION_RATE_LIMITS."""

from __future__ import annotations

import re

import pytest

from certctl.settings import Settings

from .conftest import SignedIn


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Slack limited to 10 a minute and 100 an hour."""
    return settings.model_copy(
        update={"notification_rate_limits": {"Slack": {"per_minute": 10, "per_hour": 100}}}
    )


async def test_settings_page_shows_rate_limits(signed_in: SignedIn) -> None:
    """Slack's row shows its limits and the digest; an unlimited channel says none."""
    html = (await (await signed_in("viewer")).client.get("/settings/channels")).text
    slack = re.search(r'<tr id="channel-Slack".*?</tr>', html, re.S)
    teams = re.search(r'<tr id="channel-Teams".*?</tr>', html, re.S)
    assert slack is not None
    assert teams is not None
    assert '<td data-label="Rate limit">10/min, 100/h; the rest in one digest</td>' in slack.group(
        0
    )
    assert '<td data-label="Rate limit">none</td>' in teams.group(0)
