"""axe-core (WCAG 2.0-2.2 A and AA, best practices) and phone fit on every page, at two sizes."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from .conftest import LiveServer, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Every WCAG rule axe-core has up to 2.2 AA (target-size among them), and its best practices
# (heading order, unique landmarks).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
AXE = Axe()


def _ids(server: LiveServer) -> dict[str, str]:
    with server.api() as api:
        cert = api.get("/api/v1/certificates", params={"q": "status-page"}).json()["data"][0]
        issuer = api.get("/api/v1/issuers").json()["data"][0]
    return {"cert": cert["id"], "issuer": issuer["id"]}


def _pages(server: LiveServer) -> list[str]:
    ids = _ids(server)
    return [
        "/",
        "/?within=7",
        "/certificates",
        "/certificates?expires_within_days=7&from_day=0",
        f"/certificates/{ids['cert']}",
        "/jobs",
        "/notifications",
        "/notifications?tab=dead",
        "/alerts",
        "/alerts?state=",
        "/alerts/forecast",
        "/policies",
        "/policies/rp-critical",
        "/policies/new",
        "/teams",
        "/issuers",
        f"/issuers/{ids['issuer']}",
        "/targets",
        "/agents",
        "/discovery",
        "/audit",
        "/settings/channels",
        "/silences",
    ]


def violations(page: Page) -> list[str]:
    """Each axe violation on the page as `rule: target` lines (empty when the page passes)."""
    results: Any = AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    found = []
    for violation in results.response["violations"]:
        for node in violation["nodes"]:
            found.append(f"{violation['id']}: {' '.join(map(str, node['target']))}")
    return found


@pytest.mark.parametrize("size", SIZES)
def test_every_page_passes_axe(chromium: Browser, live_server: LiveServer, size: str) -> None:
    """axe-core finds no WCAG 2.2 A/AA violation on any page, signed in as an admin."""
    width, height = SIZES[size]
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        assert violations(page) == [], "/login"
        sign_in_as(page, live_server, "dana")
        found = {}
        for path in _pages(live_server):
            page.goto(f"{live_server.url}{path}")
            if problems := violations(page):
                found[path] = problems
        assert found == {}
    finally:
        context.close()


def test_form_errors_pass_axe_and_mark_every_duplicate(page: Page, live_server: LiveServer) -> None:
    """Two rows with 30 days are both marked invalid, described by their error, and pass axe."""
    sign_in_as(page, live_server, "dana")
    page.goto(f"{live_server.url}/policies/rp-internal")
    page.fill("#threshold-0", "30")
    page.fill("#threshold-1", "30")
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_role("alert").first).to_contain_text("Thresholds, row 1")
    for row in (0, 1):
        field = page.locator(f"#threshold-{row}")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(
            "30 days is listed in rows 1, 2: each threshold once"
        )
    assert "alert_thresholds_days" not in page.locator("main").inner_text()
    assert violations(page) == []


@pytest.mark.parametrize("width", [320, 390])
def test_every_page_fits_a_phone(chromium: Browser, live_server: LiveServer, width: int) -> None:
    """At 320 and 390 px no page scrolls sideways: wide tables scroll inside their own box."""
    context = chromium.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        sign_in_as(page, live_server, "dana")
        wide = {}
        for path in _pages(live_server):
            page.goto(f"{live_server.url}{path}")
            scroll = page.evaluate("() => document.documentElement.scrollWidth")
            if scroll > width:
                wide[path] = scroll
        assert wide == {}
    finally:
        context.close()


def test_the_menu_folds_on_a_phone(page: Page, live_server: LiveServer) -> None:
    """At 390 px the menu is hidden behind its button, which opens it with every item on screen."""
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_as(page, live_server, "dana")
    menu = page.get_by_role("navigation", name="Main")
    toggle = page.get_by_test_id("menu")
    expect(menu).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    links = menu.get_by_role("link")
    expect(links).to_have_count(15)
    right_edges = links.evaluate_all("ls => ls.map(l => l.getBoundingClientRect().right)")
    assert max(right_edges) <= 390


def test_the_timeline_has_a_readable_phone_form(page: Page, live_server: LiveServer) -> None:
    """At 390 px the weeks are listed as text of at least 12 px, one link per week."""
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_as(page, live_server, "dana")
    weeks = page.get_by_test_id("weeks").get_by_role("link")
    expect(weeks).to_have_count(13)
    sizes = weeks.evaluate_all("ls => ls.map(l => parseFloat(getComputedStyle(l).fontSize))")
    assert min(sizes) >= 12
