"""Dashboard sign-in and sign-out: API keys, users, cookies, sessions and their audit rows."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext, build_context
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER, Caller, Principal, Role
from certctl.domain.audit import AuditFilter, AuditStatus
from certctl.domain.listing import PageRequest
from certctl.settings import Settings
from certctl.testing.keys import KEYS

from .conftest import PASSWORD, BrowserFactory, SignedIn, csrf_of, make_user

ADMIN = Caller(principal=Principal(name="test-admin", role=Role.ADMIN))


async def _audit(ctx: AppContext, action: str) -> list[tuple[str, str, str, dict[str, object]]]:
    page = await ctx.audit.search(
        SYSTEM_CALLER, request=PageRequest(per_page=50), filters=AuditFilter(action=action)
    )
    return [(e.actor, e.status.value, e.resource_type, dict(e.details)) for e in page.items]


async def test_pages_redirect_to_sign_in_with_the_way_back(new_browser: BrowserFactory) -> None:
    """Without a session a page answers 303 to /login, carrying the page as `next`."""
    answer = await new_browser().get("/certificates", status="Expired")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fcertificates%3Fstatus%3DExpired"


async def test_key_sign_in_sets_a_strict_session_cookie(new_browser: BrowserFactory) -> None:
    """A valid key opens a session: HttpOnly, SameSite=Lax, not Secure over plain HTTP."""
    answer = await new_browser().sign_in_key("operator")
    cookie = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith("certctl_session=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert answer.status_code == 303
    assert attributes == {"httponly", "max-age", "path", "samesite"}
    assert "SameSite=lax" in cookie


async def test_sign_in_returns_to_the_page_asked_for(new_browser: BrowserFactory) -> None:
    """After sign-in the browser goes to the local `next` page."""
    answer = await new_browser().sign_in(
        {"method": "api_key", "api_key": KEYS["viewer"]}, next_path="/jobs?status=Failed"
    )
    assert answer.headers["location"] == "/jobs?status=Failed"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "jobs", "/\\evil"])
async def test_sign_in_never_redirects_off_site(new_browser: BrowserFactory, target: str) -> None:
    """A `next` that is not a local path is replaced by the dashboard home."""
    answer = await new_browser().sign_in(
        {"method": "api_key", "api_key": KEYS["viewer"]}, next_path=target
    )
    assert answer.headers["location"] == "/"


async def test_user_sign_in_names_the_user_everywhere(
    ctx: AppContext, new_browser: BrowserFactory
) -> None:
    """A password sign-in shows the user's name and role and audits dashboard_login."""
    await make_user(ctx, "dana", Role.ADMIN)
    browser = new_browser()
    assert (await browser.sign_in_user("dana")).status_code == 303
    page = await browser.get("/teams")
    assert 'data-testid="principal">dana<' in page.text
    assert 'data-testid="role">admin<' in page.text
    assert await _audit(ctx, "dashboard_login") == [
        ("dana", "success", "dashboard_user", {"method": "password"})
    ]


async def test_wrong_password_is_refused_and_audited(
    ctx: AppContext, new_browser: BrowserFactory
) -> None:
    """A wrong password answers 401 with a generic message and a failure audit row."""
    await make_user(ctx, "dana")
    answer = await new_browser().sign_in_user("dana", "not the password at all")
    assert answer.status_code == 401
    assert "wrong username or password" in answer.text
    assert await _audit(ctx, "dashboard_login_failed") == [
        (
            "anonymous",
            "failure",
            "dashboard_user",
            {"method": "password", "username": "dana", "reason": "wrong password"},
        )
    ]


async def test_unknown_user_gets_the_same_answer(new_browser: BrowserFactory) -> None:
    """An unknown username is told exactly what a wrong password is told."""
    answer = await new_browser().sign_in_user("nobody")
    assert answer.status_code == 401
    assert "wrong username or password" in answer.text


async def test_agent_keys_cannot_use_the_dashboard(new_browser: BrowserFactory) -> None:
    """The agent role reads nothing, so its key cannot open a dashboard session."""
    answer = await new_browser().sign_in_key("agent")
    assert answer.status_code == 401
    assert "cannot use the dashboard" in answer.text


async def test_sign_in_without_its_csrf_token_is_refused(new_browser: BrowserFactory) -> None:
    """The sign-in form's double-submit token must match its cookie."""
    browser = new_browser()
    await browser.get("/login")
    answer = await browser.client.post(
        "/login", data={"method": "api_key", "api_key": KEYS["admin"], "csrf_token": "forged"}
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


async def test_sign_out_ends_the_session(ctx: AppContext, new_browser: BrowserFactory) -> None:
    """After sign-out the old session cookie no longer opens any page."""
    browser = new_browser()
    await browser.sign_in_key("operator")
    token = browser.client.cookies["certctl_session"]
    answer = await browser.post("/logout", {})
    stale = new_browser()
    stale.client.cookies.set("certctl_session", token)
    assert answer.headers["location"] == "/login?flash=signed_out"
    assert (await stale.get("/teams")).status_code == 303
    assert [a[0] for a in await _audit(ctx, "dashboard_logout")] == ["operator-user"]


async def test_sessions_end_after_twelve_hours(clock: FrozenClock, signed_in: SignedIn) -> None:
    """A session older than its 12-hour lifetime sends the browser back to sign-in."""
    browser = await signed_in("viewer")
    clock.advance(timedelta(hours=12))
    answer = await browser.get("/teams")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fteams"


async def test_revoking_a_key_ends_its_sessions(
    ctx: AppContext, new_browser: BrowserFactory
) -> None:
    """A stored key revoked after sign-in stops its open sessions at the next request."""
    key, secret = await ctx.api_keys.create(ADMIN, name="temp-ops", role=Role.OPERATOR)
    browser = new_browser()
    await browser.sign_in({"method": "api_key", "api_key": secret})
    assert (await browser.get("/teams")).status_code == 200
    await ctx.api_keys.revoke(ADMIN, key.id)
    assert (await browser.get("/teams")).status_code == 303


async def test_cookies_are_secure_behind_https(settings: Settings, clock: FrozenClock) -> None:
    """With an https public URL the session cookie is marked Secure."""
    context = build_context(
        settings.model_copy(update={"public_url": "https://certctl.example"}), clock=clock
    )
    try:
        transport = httpx.ASGITransport(app=create_app(context))
        async with httpx.AsyncClient(transport=transport, base_url="https://certctl.test") as c:
            token = csrf_of((await c.get("/login")).text)
            answer = await c.post(
                "/login",
                data={"csrf_token": token, "method": "api_key", "api_key": KEYS["admin"]},
            )
    finally:
        await context.aclose()
    cookie = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith("certctl_session=")
    )
    assert "Secure" in cookie


async def test_failed_key_sign_in_never_records_the_key(
    ctx: AppContext, new_browser: BrowserFactory
) -> None:
    """A wrong key is audited as a failure without any part of the key."""
    await new_browser().sign_in({"method": "api_key", "api_key": "cc_wrong-key-123456789"})
    rows = await _audit(ctx, "dashboard_login_failed")
    assert rows == [
        (
            "anonymous",
            AuditStatus.FAILURE.value,
            "api_key",
            {"method": "api_key", "username": "", "reason": "unknown or revoked key"},
        )
    ]


async def test_password_of_a_user_is_stored_as_argon2id(ctx: AppContext) -> None:
    """The stored hash is an argon2id PHC string, never the password."""
    await make_user(ctx, "dana")
    async with ctx.runtime.db.uow() as uow:
        user = await uow.users.by_username("dana")
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
