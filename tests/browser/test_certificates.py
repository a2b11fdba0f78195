"""The dashboard home and the certificate pages in a real browser, checked against the API."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import LiveServer, sign_in_as, sign_in_with_key

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_cards_show_the_api_figures(page: Page, live_server: LiveServer) -> None:
    """Every summary card shows the number the API answers for it."""
    with live_server.api() as api:
        summary = api.get("/api/v1/stats/summary").json()
        within_30 = api.get("/api/v1/certificates", params={"expires_within_days": 30}).json()
        awaiting = api.get("/api/v1/jobs", params={"status": "AwaitingApproval"}).json()
    sign_in_with_key(page, live_server, live_server.admin_key)
    shown = {
        key: page.get_by_test_id(f"card-{key}").locator(".value").inner_text()
        for key in ("total", "expiring", "expired", "revoked", "dead", "approval")
    }
    assert shown == {
        "total": str(summary["total_certificates"]),
        "expiring": str(within_30["total"]),
        "expired": str(summary["certificates_by_status"]["Expired"]),
        "revoked": str(summary["certificates_by_status"]["Revoked"]),
        "dead": str(summary["notifications_dead"]),
        "approval": str(awaiting["total"]),
    }
    assert shown["total"] == "30"
    assert int(shown["dead"]) > 0


def test_filter_by_status_lists_those_certificates(page: Page, live_server: LiveServer) -> None:
    """Choosing Expired in the status filter lists exactly the API's expired certificates."""
    with live_server.api() as api:
        expired = api.get("/api/v1/certificates", params={"status": "Expired"}).json()
    sign_in_as(page, live_server, "vera")
    page.goto(f"{live_server.url}/certificates")
    page.select_option("#f-status", "Expired")
    page.click("button:text-is('Filter')")
    page.wait_for_url("**/certificates?*status=Expired*")
    rows = page.get_by_test_id("certificates").locator("tbody tr")
    listed = sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.id)"))
    assert listed == sorted(c["id"] for c in expired["data"])
    assert len(listed) == expired["total"] > 0


def test_detail_page_shows_the_certificate(page: Page, live_server: LiveServer) -> None:
    """Following a certificate's link opens its page with its version and alert grid."""
    sign_in_as(page, live_server, "vera")
    page.goto(f"{live_server.url}/certificates?q=checkout-prod")
    page.get_by_role("link", name="checkout-prod").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("checkout-prod")
    expect(page.get_by_role("heading", name="Versions")).to_be_visible()
    expect(page.get_by_test_id("alerts").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("download-pem")).to_be_visible()


def test_revoke_from_the_detail_page(page: Page, live_server: LiveServer) -> None:
    """Revoking with a reason from the detail page makes the API answer Revoked."""
    with live_server.api() as api:
        cert = api.get("/api/v1/certificates", params={"q": "api-prod"}).json()["data"][0]
    sign_in_as(page, live_server, "olly")
    page.goto(f"{live_server.url}/certificates/{cert['id']}")
    page.select_option("#revoke-reason", "keyCompromise")
    page.get_by_test_id("revoke").click()
    expect(page.get_by_role("status")).to_have_text("The certificate is revoked.")
    with live_server.api() as api:
        after = api.get(f"/api/v1/certificates/{cert['id']}").json()
        trail = api.get(
            "/api/v1/audit", params={"action": "certificate_revoked", "resource_id": cert["id"]}
        ).json()
    assert (after["status"], after["revocation_reason"]) == ("Revoked", "keyCompromise")
    assert [e["actor"] for e in trail["data"]] == ["olly"]


def test_phone_width_has_no_horizontal_overflow(page: Page, live_server: LiveServer) -> None:
    """At 390 px the certificate list fits the screen: nothing scrolls sideways."""
    sign_in_as(page, live_server, "vera")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/certificates")
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]"
    )
    assert widths == [390, 390, 390]
    expect(page.get_by_test_id("certificates").locator("tbody tr").first).to_be_visible()
