"""Dashboard answers for the on-call engineer: expiry window, alert route, channels, paging."""

from __future__ import annotations

import json
import re

import pytest

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest
from certctl.settings import Settings
from certctl.testing.keys import NAMED_KEYS

from .conftest import Estate, SignedIn

_ROW_NAMES = re.compile(
    r'<tr data-id="mc-[^"]+">\s*(?:<td[^>]*>.*?</td>\s*)?<td data-label="Name"[^>]*><a href="/certificates/mc-[^"]+">([^<]+)</a>',
    re.S,
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """PagerDuty set by the environment (its routing key is a secret); nothing else.

    Its events URL is in TEST-NET-1 (RFC 5737), which the SSRF guard refuses without any
    network traffic, so a test send has a known outcome.
    """
    return Settings(
        database_url=database_url,
        api_keys_named=NAMED_KEYS,  # type: ignore[arg-type]
        config_encryption_key="test-encryption-key-0123456789",  # type: ignore[arg-type]
        pagerduty_routing_key="rk-very-secret-routing-key",  # type: ignore[arg-type]
        pagerduty_events_url="https://192.0.2.10/v2/enqueue",
    )


async def _listed(signed_in: SignedIn, **params: str) -> list[str]:
    html = (await (await signed_in("viewer")).get("/certificates", **params)).text
    return _ROW_NAMES.findall(html)


async def test_the_expiring_card_counts_every_status_and_links_to_the_same_list(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """A failed certificate due in 2 days counts in the 7-day card and is in its list."""
    await estate.certificate("soon", 5)
    failing = await estate.certificate("failing", 2)
    await ctx.certificates.update(SYSTEM_CALLER, failing.id, {"status": "Failed"})
    await estate.certificate("later", 20)
    await estate.certificate("gone", -1)
    html = (await (await signed_in("viewer")).get("/", within="7")).text
    card = re.search(
        r'href="([^"]+)" data-testid="card-expiring">\s*<span class="value">(\d+)<', html
    )
    assert card is not None
    assert card.groups() == ("/certificates?expires_within_days=7", "2")
    assert await _listed(signed_in, expires_within_days="7") == ["failing", "soon"]


async def test_a_week_of_the_chart_lists_only_that_week(
    estate: Estate, signed_in: SignedIn
) -> None:
    """The second bar's link lists the certificates due in days 7 to 14 alone."""
    for name, days in (("a", 3), ("b", 8), ("c", 13), ("d", 15)):
        await estate.certificate(name, days)
    html = (await (await signed_in("viewer")).get("/")).text
    assert 'href="/certificates?expires_within_days=14&amp;from_day=7"' in html
    assert await _listed(signed_in, expires_within_days="14", from_day="7") == ["b", "c"]


async def test_an_unreadable_window_is_a_400_page(signed_in: SignedIn) -> None:
    """A window that is not a day count in range answers a 400 page naming the field's label."""
    answer = await (await signed_in("viewer")).get("/certificates", expires_within_days="0")
    assert answer.status_code == 400
    assert "Expires within must be a whole number of days, 1 to 3650" in answer.text


async def test_paging_past_the_end_redirects_to_the_last_page(
    estate: Estate, signed_in: SignedIn
) -> None:
    """?page=999 of a one-page list redirects to page 1, keeping the filters."""
    await estate.certificate("only", 40)
    answer = await (await signed_in("viewer")).get("/certificates", q="only", page="999")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/certificates?q=only&page=1"


async def test_certificate_page_shows_the_route_and_why_cells_are_skipped(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Email to the owner is skipped (no SMTP), PagerDuty comes from the environment."""
    await ctx.policies.update(
        SYSTEM_CALLER,
        "rp-web",
        {
            "alert_thresholds_days": [0],
            "alert_channels": {
                "critical": ["Email", "PagerDuty"],
                "warning": [],
                "informational": [],
            },
        },
    )
    cert = await estate.certificate("paged", 20)
    html = (await (await signed_in("viewer")).get(f"/certificates/{cert.id}")).text
    assert '<a href="mailto:ann@example.com">ann@example.com</a>' in html
    email = re.search(r'data-channel="Email".*?</tr>', html, re.S)
    pager = re.search(r'data-channel="PagerDuty".*?</tr>', html, re.S)
    assert email is not None
    assert pager is not None
    assert "ann@example.com" in email.group(0)
    assert "skipped</span> channel Email is not configured" in email.group(0)
    assert '<span class="badge badge-ok">yes</span> environment' in pager.group(0)


async def test_settings_lists_environment_channels_with_secrets_masked(
    signed_in: SignedIn,
) -> None:
    """PagerDuty from the environment is listed as configured, its routing key masked."""
    html = (await (await signed_in("operator")).get("/settings/channels")).text
    row = re.search(r'<tr id="channel-PagerDuty".*?</tr>', html, re.S)
    assert row is not None
    assert "environment (CERTCTL_* variables)" in row.group(0)
    assert "routing_key=********" in row.group(0)
    assert "rk-very-secret-routing-key" not in html
    assert 'action="/settings/channels/environment/PagerDuty/test"' in row.group(0)
    slack = re.search(r'<tr id="channel-Slack".*?</tr>', html, re.S)
    assert slack is not None
    assert "nowhere: alerts routed to Slack are skipped" in slack.group(0)


async def test_environment_test_send_redirects_back_with_its_outcome(
    ctx: AppContext, signed_in: SignedIn
) -> None:
    """Testing the environment's PagerDuty redirects to Settings, which shows the refusal."""
    browser = await signed_in("operator")
    answer = await browser.post("/settings/channels/environment/PagerDuty/test", {})
    assert answer.status_code == 303
    tested = answer.headers["location"].removeprefix("/settings/channels?tested=")
    event = await ctx.notifications.get(SYSTEM_CALLER, tested)
    shown = (await browser.get(answer.headers["location"])).text
    assert (event.channel, event.status.value, event.attempts) == ("PagerDuty", "dead", 1)
    assert event.last_error is not None
    assert "private address: 192.0.2.10" in event.last_error
    assert f"Test through PagerDuty: dead — {event.last_error}" in shown
    trail = await ctx.audit.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=5),
        filters=AuditFilter(action="notification_channel_tested"),
    )
    assert [(e.actor, e.resource_id) for e in trail.items] == [
        ("operator-user", "environment:PagerDuty")
    ]


async def test_policy_page_flags_unconfigured_channels(estate: Estate, signed_in: SignedIn) -> None:
    """The default matrix sends Email, not configured here: each row flags it, page and list."""
    browser = await signed_in("viewer")
    html = (await browser.get("/policies/rp-web")).text
    listed = (await browser.get("/policies")).text
    assert html.count('data-testid="unconfigured"') == 4
    assert listed.count('Email <span class="muted">(not configured)</span>') == 4


PATTERN = ' pattern="[0-9]{1,3}(\\.[0-9]{1,2})?%?"'
"""The threshold field takes days or a percentage of the validity period."""


async def test_duplicate_thresholds_mark_every_row_in_visible_words(
    estate: Estate, signed_in: SignedIn
) -> None:
    """Both rows holding 14 are invalid and described by their error; no internal name shows."""
    answer = await (await signed_in("operator")).post(
        "/policies/rp-web",
        {
            "name": "Web policy",
            "renewal_window_days": "30",
            "max_retries": "3",
            "retry_interval_seconds": "3600",
            "threshold": ["14", "7", "14"],
            "tier": ["", "", ""],
            "matrix_mode": "default",
        },
    )
    assert answer.status_code == 400
    for row in (0, 2):
        assert (
            f'id="threshold-{row}" name="threshold" value="14"{PATTERN} '
            f'aria-invalid="true" aria-describedby="threshold-{row}-error"'
        ) in answer.text
        assert f'id="threshold-{row}-error">14 days is listed in rows 1, 3' in answer.text
    assert f'id="threshold-1" name="threshold" value="7"{PATTERN}>' in answer.text
    assert "Thresholds, row 1" in answer.text
    assert "alert_thresholds_days" not in answer.text


async def test_dead_rows_name_their_row_and_hide_webhook_recipients(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The Requeue button names the row; a Webhook row shows no e-mail; its state is JSON."""
    channel = await ctx.channels.create(
        SYSTEM_CALLER,
        {"name": "hook", "channel": "Webhook", "config": {"url": "https://192.0.2.10/x"}},
    )
    dead = await ctx.notifications.send_test(SYSTEM_CALLER, channel.id, "ann@example.com")
    browser = await signed_in("operator")
    html = (await browser.get("/notifications", tab="dead")).text
    assert 'aria-label="Requeue the Webhook test alert">Requeue</button>' in html
    assert "ann@example.com" not in html
    assert '<a href="/settings/channels#channel-Webhook"' in html
    state = await browser.get(f"/notifications/{dead.id}/state")
    assert state.headers["content-type"] == "application/json"
    assert json.loads(state.text) == {
        "id": dead.id,
        "status": "dead",
        "attempts": 1,
        "max_attempts": 5,
        "channel": "Webhook",
        "last_error": dead.last_error,
    }
