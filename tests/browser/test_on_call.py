"""The on-call engineer's three questions, each one click from the home page, and the keyboard.

Each task starts signed in on the home page and counts the clicks it takes to reach the
page holding the answer (at most one), then checks that answer against the API.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import PASSWORD, LiveServer, sign_in_as
from .test_operations import _job_awaiting_approval

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# The demo's certificates expiring within 7 days, whatever their status: Failed and
# RenewalInProgress ones included, revoked and archived ones not.
THIS_WEEK = {"mail-prod", "search-prod", "ldap-int", "billing-prod", "status-page"}


class Clicks:
    """Clicks made on the way to an answer."""

    def __init__(self) -> None:
        self.count = 0

    def click(self, target: Locator) -> None:
        """Click `target` and count it."""
        self.count += 1
        target.click()


def test_what_expires_this_week(page: Page, live_server: LiveServer) -> None:
    """One click on the chart's first week lists that week's certificates, whatever their status."""
    with live_server.api() as api:
        week = api.get("/api/v1/certificates", params={"expires_within_days": 7}).json()
    sign_in_as(page, live_server, "vera")
    clicks = Clicks()
    clicks.click(page.get_by_test_id("bar-0"))
    rows = page.get_by_test_id("certificates").locator("tbody tr")
    names = rows.evaluate_all("rows => rows.map(r => r.querySelector('a').textContent)")
    assert clicks.count == 1
    assert set(names) == THIS_WEEK == {c["name"] for c in week["data"]}
    assert {c["status"] for c in week["data"]} >= {"Failed", "RenewalInProgress"}
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificates expiring within 7 days")


def test_the_expiring_card_and_its_list_agree(page: Page, live_server: LiveServer) -> None:
    """The 7-day window's card counts exactly the certificates its link lists."""
    sign_in_as(page, live_server, "vera")
    page.get_by_test_id("window-7").click()
    card = page.get_by_test_id("card-expiring")
    figure = int(card.locator(".value").inner_text())
    card.click()
    expect(page.get_by_test_id("certificates").locator("tbody tr")).to_have_count(figure)
    assert figure == len(THIS_WEEK)


def test_why_is_this_notification_dead(page: Page, live_server: LiveServer) -> None:
    """One click on the dead-notifications card shows each row's whole cause and its channel."""
    with live_server.api() as api:
        dead = api.get("/api/v1/notifications", params={"status": "dead"}).json()["data"]
    sign_in_as(page, live_server, "olly")
    clicks = Clicks()
    clicks.click(page.get_by_test_id("card-dead"))
    row = page.locator(f"tr[data-id='{dead[0]['id']}']")
    assert clicks.count == 1
    expect(row.get_by_test_id("cause")).to_be_visible()
    expect(row.get_by_test_id("cause")).to_have_text(dead[0]["last_error"])
    assert "private address" in dead[0]["last_error"]
    link = row.get_by_test_id("channel-link")
    expect(link).to_have_attribute("href", "/settings/channels#channel-Webhook")
    assert "@" not in row.locator("td[data-label='Channel']").inner_text()
    expect(
        row.get_by_role("button", name="Requeue the Webhook expiration alert of")
    ).to_be_visible()


def test_who_gets_paged_for_this_certificate(page: Page, live_server: LiveServer) -> None:
    """One click on a certificate in the expiring list shows its route, unconfigured Slack too."""
    with live_server.api() as api:
        cert = api.get("/api/v1/certificates", params={"q": "status-page"}).json()["data"][0]
        route: dict[str, Any] = api.get(f"/api/v1/certificates/{cert['id']}/alert-route").json()
    sign_in_as(page, live_server, "vera")
    clicks = Clicks()
    clicks.click(page.get_by_test_id("expiring-soon").get_by_role("link", name="status-page"))
    table = page.get_by_test_id("route")
    assert clicks.count == 1
    shown = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.threshold, r.dataset.channel || ''])"
    )
    expected = [
        [str(row["threshold_days"]), step["channel"]]
        for row in route["thresholds"]
        for step in row["channels"] or [{"channel": ""}]
    ]
    assert shown == expected
    slack = table.locator("tr[data-threshold='30'][data-channel='Slack']")
    expect(slack.locator("td[data-label='Configured']")).to_contain_text(
        "channel Slack is not configured"
    )
    skipped = [s for r in route["thresholds"] for s in r["channels"] if not s["configured"]]
    assert {s["channel"] for s in skipped} >= {"Slack", "PagerDuty", "OpsGenie"}


def test_a_requeued_row_that_dies_again_is_shown_without_a_reload(
    page: Page, live_server: LiveServer
) -> None:
    """After a requeue the page watches the row and says when the next attempt kills it again."""
    sign_in_as(page, live_server, "olly")
    page.goto(f"{live_server.url}/notifications?tab=dead")
    row = page.get_by_test_id("notifications").locator("tbody tr").first
    row.get_by_test_id("requeue").click()
    watch = page.get_by_test_id("watch")
    expect(watch).to_be_visible()
    page.evaluate("() => { window.sameDocument = true; }")
    with live_server.api() as api:
        api.post("/api/v1/admin/loops/notification_dispatch/run").raise_for_status()
    expect(watch).to_contain_text("died again (attempt 1 of 5)")
    expect(watch).to_contain_text("must not point to a private address")
    assert page.evaluate("() => window.sameDocument") is True


def _tab_to(page: Page, script: str, limit: int = 200) -> None:
    """Press Tab until the focused element satisfies `script` (a JS predicate on it)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {script})(document.activeElement)"):
            return
    raise AssertionError(f"never focused: {script}")


def test_keyboard_only_sign_in_revoke_and_approve(page: Page, live_server: LiveServer) -> None:
    """Keys alone sign in, open a certificate, revoke it with a reason and approve a job."""
    job = _job_awaiting_approval(live_server)
    page.goto(f"{live_server.url}/login")
    _tab_to(page, "el.id === 'username'")
    page.keyboard.type("dana")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")
    _tab_to(page, "el.textContent.trim() === 'Certificates' && el.closest('nav')")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/certificates")
    _tab_to(page, "el.textContent.trim() === 'api-prod'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("api-prod")
    _tab_to(page, "el.id === 'revoke-reason'")
    page.keyboard.type("superseded")
    expect(page.locator("#revoke-reason")).to_have_value("superseded")
    _tab_to(page, "el.dataset.testid === 'revoke'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("The certificate is revoked.")
    _tab_to(page, "el.textContent.trim() === 'Jobs' && el.closest('nav')")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/jobs")
    _tab_to(
        page, f"el.dataset.testid === 'approve' && el.closest('tr').dataset.id === '{job['id']}'"
    )
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("The job is approved.")
    with live_server.api() as api:
        cert = api.get("/api/v1/certificates", params={"q": "api-prod"}).json()["data"][0]
        after = api.get(f"/api/v1/jobs/{job['id']}").json()
    assert (cert["status"], cert["revocation_reason"]) == ("Revoked", "superseded")
    assert (after["status"], after["approved_by"]) == ("Pending", "dana")
