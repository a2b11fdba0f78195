"""The Silences page: list, add a silence or quiet hours, expire a silence early."""

from __future__ import annotations

import re
from datetime import timedelta

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.listing import PageRequest, SortKey
from certctl.domain.silences import Silence

from .conftest import Estate, SignedIn


async def _silences(ctx: AppContext) -> list[Silence]:
    page = await ctx.silences.search(SYSTEM_CALLER, request=PageRequest(), sort=SortKey("ends_at"))
    return list(page.items)


async def test_operator_adds_then_expires_a_silence(ctx: AppContext, signed_in: SignedIn) -> None:
    """The form creates a silence ending in the given hours; Expire now ends it at once."""
    browser = await signed_in("operator")
    answer = await browser.post(
        "/silences", {"reason": "host retired", "hours": "6", "environment": "staging"}
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/silences?flash=created")
    [created] = await _silences(ctx)
    assert (created.environment, created.ends_at) == (
        "staging",
        ctx.clock.now() + timedelta(hours=6),
    )
    page = (await browser.client.get("/silences")).text
    assert "environment=staging" in page
    assert f'action="/silences/{created.id}/expire"' in page
    expired = await browser.post(f"/silences/{created.id}/expire", {})
    assert expired.status_code == 303
    [after] = await _silences(ctx)
    assert after.ends_at == ctx.clock.now()


async def test_silence_without_matcher_is_refused_on_the_page(
    ctx: AppContext, signed_in: SignedIn
) -> None:
    """A silence with no matcher answers 400 with the reason shown and stores nothing."""
    browser = await signed_in("operator")
    answer = await browser.post("/silences", {"reason": "r", "hours": "2"})
    assert answer.status_code == 400
    assert "a silence needs at least one matcher" in answer.text
    assert await _silences(ctx) == []


async def test_quiet_hours_form_creates_a_window(ctx: AppContext, signed_in: SignedIn) -> None:
    """The quiet-hours form stores the window with its weekdays, times and zone."""
    browser = await signed_in("admin")
    answer = await browser.post(
        "/quiet-hours",
        {
            "qh_name": "slack nights",
            "qh_channel": "Slack",
            "weekdays": ["fri", "sat"],
            "start": "22:00",
            "end": "07:00",
            "timezone": "Europe/Berlin",
        },
    )
    assert answer.status_code == 303
    page = await ctx.quiet_hours.search(SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"))
    [window] = page.items
    assert (window.channel, window.weekdays, window.start, window.end, window.timezone) == (
        "Slack",
        ("fri", "sat"),
        "22:00",
        "07:00",
        "Europe/Berlin",
    )


async def test_viewer_sees_no_forms(signed_in: SignedIn) -> None:
    """A viewer gets the lists without the add forms."""
    page = (await (await signed_in("viewer")).client.get("/silences")).text
    assert 'data-testid="silences"' in page
    assert 'action="/silences"' not in page


async def test_certificate_page_says_who_gets_paged_and_why(
    ctx: AppContext, signed_in: SignedIn
) -> None:
    """The certificate page names the team override deciding a tier's channel."""
    await ctx.teams.create(SYSTEM_CALLER, {"id": "t-pay", "name": "Pay"})
    cert = await ctx.certificates.create(
        SYSTEM_CALLER,
        {"id": "mc-pay", "name": "pay", "common_name": "pay.example.com", "team_id": "t-pay"},
    )
    await ctx.route_overrides.create(
        SYSTEM_CALLER,
        {
            "name": "pay mail",
            "channel": "Email",
            "team_id": "t-pay",
            "tier": "critical",
            "config": {"recipients": ["pay-oncall@example.com"]},
        },
    )
    html = (await (await signed_in("viewer")).client.get(f"/certificates/{cert.id}")).text
    row = re.search(
        r'<tr data-tier="critical" data-channel="Email" data-decided-by="override">(.*?)</tr>',
        html,
        re.S,
    )
    assert row is not None
    cells = [
        re.sub(r"<[^>]+>|\s+", " ", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]
    assert cells[2:] == [
        "pay-oncall@example.com",
        "override &#39;pay mail&#39; of team t-pay (tier critical) replaces the Email destination",
    ]


async def test_notifications_page_filters_by_silence(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """/notifications?silence_id=… lists exactly the rows that silence muted."""
    cert = await estate.certificate("muted", 3)
    other = await estate.certificate("loud", 3)
    silence = await ctx.silences.create(
        SYSTEM_CALLER,
        {"reason": "r", "ends_at": ctx.clock.now() + timedelta(hours=1), "certificate_id": cert.id},
    )
    await ctx.alerts.scan()
    summary = await ctx.notifications.dispatch()
    # T-30, T-14 and T-7 crossed: three expiry alerts, and, 27 days into its renewal window
    # with no successor, three overdue alerts; one Email row each, all muted.
    assert summary.silenced == 6
    html = (
        await (await signed_in("viewer")).client.get(f"/notifications?silence_id={silence.id}")
    ).text
    assert html.count("silenced</span>") == 6
    assert other.id not in html


async def test_override_form_seals_the_destination(ctx: AppContext, signed_in: SignedIn) -> None:
    """The override form stores a team's PagerDuty key sealed; the page shows it masked."""
    await ctx.teams.create(SYSTEM_CALLER, {"id": "t-pay", "name": "Pay"})
    browser = await signed_in("operator")
    answer = await browser.post(
        "/route-overrides",
        {
            "ro_name": "pay pager",
            "ro_channel": "PagerDuty",
            "ro_team_id": "t-pay",
            "ro_tier": "critical",
            "destination": "R0UT1NG-KEY",
        },
    )
    assert answer.status_code == 303
    page = await ctx.route_overrides.search(
        SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name")
    )
    [override] = page.items
    assert (override.team_id, override.tier, dict(override.config)) == (
        "t-pay",
        "critical",
        {"routing_key": "********"},
    )
    assert override.sealed_secrets
    html = (await browser.client.get("/silences")).text
    assert "routing_key=********" in html
    assert "R0UT1NG-KEY" not in html


async def test_override_form_without_scope_is_refused(signed_in: SignedIn) -> None:
    """An override for neither a team nor an owner answers 400 with the reason shown."""
    answer = await (await signed_in("operator")).post(
        "/route-overrides",
        {"ro_name": "n", "ro_channel": "Slack", "destination": "https://hooks.example.com/x"},
    )
    assert answer.status_code == 400
    assert "give exactly one of team_id and owner_id" in answer.text
