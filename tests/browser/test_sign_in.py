"""Signing in and out of the dashboard in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import LiveServer, sign_in_as, sign_in_with_key

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_api_key_sign_in_opens_the_dashboard(page: Page, live_server: LiveServer) -> None:
    """The demo admin key signs in; the header names the key and its role."""
    sign_in_with_key(page, live_server, live_server.admin_key)
    expect(page.get_by_test_id("principal")).to_have_text("demo-admin")
    expect(page.get_by_test_id("role")).to_have_text("admin")


def test_user_sign_in_opens_the_dashboard(page: Page, live_server: LiveServer) -> None:
    """A user made with `certctl user create` signs in with the password."""
    sign_in_as(page, live_server, "olly")
    expect(page.get_by_test_id("principal")).to_have_text("olly")
    expect(page.get_by_test_id("role")).to_have_text("operator")


def test_wrong_password_stays_on_the_sign_in_page(page: Page, live_server: LiveServer) -> None:
    """A wrong password shows the refusal on the sign-in page."""
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "olly")
    page.fill("#password", "not the password at all")
    page.click("button:text-is('Sign in')")
    expect(page.get_by_role("alert")).to_have_text("wrong username or password")
    assert page.url == f"{live_server.url}/login"


def test_sign_out_returns_to_the_sign_in_page(page: Page, live_server: LiveServer) -> None:
    """Sign out ends the session: the dashboard asks for sign-in again."""
    sign_in_as(page, live_server, "vera")
    page.click("button:text-is('Sign out')")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(f"{live_server.url}/certificates")
    assert page.url == f"{live_server.url}/login?next=%2Fcertificates"
