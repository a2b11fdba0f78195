"""Escalation and owner digests in the dashboard: policy form, alert page, owner form."""

from __future__ import annotations

from datetime import timedelta

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.listing import PageRequest, SortKey
from certctl.services.alert_escalation import escalate_due
from certctl.services.alert_records import AlertFilter

from .conftest import Estate, SignedIn

FORM = {
    "name": "Web policy",
    "description": "",
    "renewal_window_days": "30",
    "auto_renew": "1",
    "max_retries": "3",
    "retry_interval_seconds": "3600",
    "certificate_profile_id": "",
    "agent_group_id": "",
    "threshold": ["30", "0"],
    "tier": ["", ""],
    "matrix_mode": "default",
}


async def test_policy_form_saves_the_escalation(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The minutes and ticked channels are stored, and shown again on the form."""
    browser = await signed_in("operator")
    answer = await browser.post(
        "/policies/rp-web",
        {**FORM, "escalation_after_minutes": "45", "escalation_channels": ["PagerDuty", "Slack"]},
    )
    policy = await ctx.policies.get(SYSTEM_CALLER, "rp-web")
    assert answer.headers["location"] == "/policies/rp-web?flash=saved"
    assert (policy.escalation_after_minutes, policy.escalation_channels) == (
        45,
        ("PagerDuty", "Slack"),
    )
    html = (await browser.get("/policies/rp-web")).text
    assert 'name="escalation_after_minutes" value="45"' in html
    assert 'id="esc-PagerDuty" name="escalation_channels" value="PagerDuty" checked' in html
    assert 'id="esc-Email" name="escalation_channels" value="Email">' in html


async def test_policy_form_refuses_minutes_out_of_range(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """0 minutes is named next to the field (400) and the policy is unchanged."""
    answer = await (await signed_in("operator")).post(
        "/policies/rp-web",
        {**FORM, "escalation_after_minutes": "0", "escalation_channels": ["PagerDuty"]},
    )
    policy = await ctx.policies.get(SYSTEM_CALLER, "rp-web")
    assert answer.status_code == 400
    assert 'id="f-escalation_after_minutes-error">must be between 1 and 10080, got 0' in answer.text
    assert (policy.escalation_after_minutes, policy.escalation_channels) == (None, ())


async def test_alert_page_shows_when_the_alert_escalated(
    ctx: AppContext, estate: Estate, signed_in: SignedIn, clock: FrozenClock
) -> None:
    """Before: a dash; after the delay: the time and the level."""
    await ctx.policies.update(
        SYSTEM_CALLER,
        "rp-web",
        {"escalation_after_minutes": 15, "escalation_channels": ["PagerDuty"]},
    )
    await estate.certificate("shop", days_left=0.5)
    await ctx.alerts.scan()
    page = await ctx.alert_records.search(
        SYSTEM_CALLER,
        request=PageRequest(),
        sort=SortKey("opened_at"),
        filters=AlertFilter(tier="critical"),
    )
    [alert] = page.items
    browser = await signed_in("viewer")
    before = (await browser.get(f"/alerts/{alert.id}")).text
    assert '<dd data-testid="escalated">—</dd>' in before
    clock.advance(timedelta(minutes=15))
    assert (await escalate_due(ctx.runtime)).alerts_escalated == 1
    after = (await browser.get(f"/alerts/{alert.id}")).text
    assert '<dd data-testid="escalated">—</dd>' not in after
    assert "(level 1)</dd>" in after


async def test_owner_form_sets_the_digest_and_the_list_shows_it(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """An owner added with a weekly digest is stored so and listed with it."""
    browser = await signed_in("operator")
    answer = await browser.post(
        "/owners",
        {"owner_name": "Dee", "email": "dee@example.com", "team_id": "", "digest": "weekly"},
    )
    owners = await ctx.owners.search(
        SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"), q="Dee"
    )
    assert answer.status_code == 303
    assert [o.digest for o in owners.items] == ["weekly"]
    assert (
        '<td data-label="Digest" data-testid="digest">weekly</td>'
        in (await browser.get("/teams")).text
    )


async def test_owner_form_refuses_an_unknown_digest(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """A digest other than off, daily or weekly is a 400 naming Digest; no owner is added."""
    answer = await (await signed_in("operator")).post(
        "/owners",
        {"owner_name": "Dee", "email": "dee@example.com", "team_id": "", "digest": "hourly"},
    )
    owners = await ctx.owners.search(
        SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"), q="Dee"
    )
    assert answer.status_code == 400
    assert 'id="f-digest-error"' in answer.text
    assert owners.items == []
