"""What a viewer sees and what the server refuses, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import LiveServer, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _certificate_id(server: LiveServer, name: str) -> str:
    with server.api() as api:
        found = api.get("/api/v1/certificates", params={"q": name}).json()["data"][0]
    return str(found["id"])


def _status(server: LiveServer, cert_id: str) -> str:
    with server.api() as api:
        return str(api.get(f"/api/v1/certificates/{cert_id}").json()["status"])


@pytest.mark.parametrize(
    ("path", "control"),
    [
        ("/certificates", "bulk-renew"),
        ("/certificates/{cert}", "revoke"),
        ("/notifications?tab=dead", "requeue"),
        ("/policies/rp-critical", "save-policy"),
    ],
)
def test_viewer_sees_no_write_buttons(
    page: Page, live_server: LiveServer, path: str, control: str
) -> None:
    """The controls an operator uses are absent from a viewer's pages."""
    url = live_server.url + path.format(cert=_certificate_id(live_server, "www-prod"))
    sign_in_as(page, live_server, "olly")
    page.goto(url)
    expect(page.get_by_test_id(control).first).to_be_visible()
    page.context.clear_cookies()
    sign_in_as(page, live_server, "vera")
    page.goto(url)
    expect(page.get_by_test_id(control)).to_have_count(0)


def test_forged_viewer_post_is_refused(page: Page, live_server: LiveServer) -> None:
    """A viewer's hand-made revoke POST, even with the session's CSRF token, gets 403."""
    cert_id = _certificate_id(live_server, "www-prod")
    sign_in_as(page, live_server, "vera")
    page.goto(f"{live_server.url}/certificates/{cert_id}")
    token = page.locator("input[name=csrf_token]").first.input_value()
    answer = page.request.post(
        f"{live_server.url}/certificates/{cert_id}/revoke",
        form={"csrf_token": token, "reason": "keyCompromise"},
        max_redirects=0,
    )
    assert answer.status == 403
    assert "may not perform" in answer.text()
    assert _status(live_server, cert_id) == "Active"


def test_post_without_csrf_token_is_refused(page: Page, live_server: LiveServer) -> None:
    """An operator's POST that lacks the CSRF token gets 403 and changes nothing."""
    cert_id = _certificate_id(live_server, "cdn-prod")
    sign_in_as(page, live_server, "olly")
    answer = page.request.post(
        f"{live_server.url}/certificates/{cert_id}/revoke",
        form={"reason": "keyCompromise"},
        max_redirects=0,
    )
    assert answer.status == 403
    assert "CSRF token is missing or wrong" in answer.text()
    assert _status(live_server, cert_id) == "Active"


def test_forbidden_page_shows_the_403_page(page: Page, live_server: LiveServer) -> None:
    """A viewer opening the new-policy form gets the 403 page, not the form."""
    sign_in_as(page, live_server, "vera")
    answer = page.goto(f"{live_server.url}/policies/new")
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Forbidden")


MAIN_PAGES = (
    "/",
    "/certificates",
    "/certificates/{cert}",
    "/jobs",
    "/notifications",
    "/notifications?tab=dead",
    "/policies",
    "/policies/rp-critical",
    "/teams",
    "/issuers",
    "/issuers/iss-local",
    "/targets",
    "/agents",
    "/discovery",
    "/audit",
    "/settings/channels",
)
UNLABELLED = """() => [...document.querySelectorAll(
    "input:not([type=hidden]), select, textarea")]
  .filter(el => el.labels.length === 0 && !el.getAttribute("aria-label"))
  .map(el => el.name || el.id)"""


def test_every_form_field_has_a_label(page: Page, live_server: LiveServer) -> None:
    """Each visible form field of the main pages is named by a <label>."""
    cert_id = _certificate_id(live_server, "www-prod")
    sign_in_as(page, live_server, "dana")
    unlabelled = {}
    for path in MAIN_PAGES:
        page.goto(live_server.url + path.format(cert=cert_id))
        unlabelled[path] = page.evaluate(UNLABELLED)
    assert unlabelled == {path: [] for path in MAIN_PAGES}


def test_pages_break_no_content_security_rule(page: Page, live_server: LiveServer) -> None:
    """Under CSP default-src 'self' no page logs an error (a refused inline style or script)."""
    cert_id = _certificate_id(live_server, "www-prod")
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    sign_in_as(page, live_server, "dana")
    for path in MAIN_PAGES:
        page.goto(live_server.url + path.format(cert=cert_id))
    assert errors == []
