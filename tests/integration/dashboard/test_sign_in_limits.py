"""Sign-in limits: per client address and an exponential per-account back-off that refuses
before any password hash is checked or audit row written (C10)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest
from certctl.settings import Settings

from .conftest import BrowserFactory, make_user


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """4 sign-in attempts per address a minute; an account locks after 3 failures (30 s)."""
    return settings.model_copy(
        update={
            "rate_limit_address_per_minute": 4,
            "signin_backoff_after": 3,
            "signin_backoff_base_seconds": 30.0,
        }
    )


@pytest.fixture
def per_account(settings: Settings) -> Settings:
    """Only the account back-off (the address limit off), to see it alone."""
    settings.rate_limit_address_per_minute = 0
    return settings


async def _failed_rows(ctx: AppContext) -> int:
    page = await ctx.audit.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=100),
        filters=AuditFilter(action="dashboard_login_failed"),
    )
    return page.total


async def test_locked_account_refuses_the_right_password_unchecked(
    per_account: Settings, ctx: AppContext, new_browser: BrowserFactory
) -> None:
    """After 3 wrong passwords of 100 in a row, the right one gets 429 with Retry-After 30
    and only the first 3 attempts were checked and audited."""
    await make_user(ctx, "dana")
    browser = new_browser()
    codes = [(await browser.sign_in_user("dana", "wrong")).status_code for _ in range(100)]
    assert codes == [401] * 3 + [429] * 97
    answer = await browser.sign_in_user("dana")
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "30")
    assert "too many failed sign-ins for this account" in answer.text
    assert await _failed_rows(ctx) == 3


async def test_lock_doubles_and_success_ends_the_streak(
    per_account: Settings, ctx: AppContext, clock: FrozenClock, new_browser: BrowserFactory
) -> None:
    """A failure after the first lock ends locks for 60 s; the right password afterwards
    signs in and a later wrong one is a plain 401 again."""
    await make_user(ctx, "erin")
    browser = new_browser()
    for _ in range(3):
        await browser.sign_in_user("erin", "wrong")
    clock.advance(timedelta(seconds=30))
    assert (await browser.sign_in_user("erin", "wrong")).status_code == 401
    locked = await browser.sign_in_user("erin")
    assert (locked.status_code, locked.headers["retry-after"]) == (429, "60")
    clock.advance(timedelta(seconds=60))
    assert (await browser.sign_in_user("erin")).status_code == 303
    assert (await new_browser().sign_in_user("erin", "wrong")).status_code == 401


async def test_signin_attempts_are_limited_per_address(
    ctx: AppContext, new_browser: BrowserFactory
) -> None:
    """The fifth sign-in attempt from one address within a minute is a 429 page."""
    browser = new_browser()
    codes = [
        (await browser.sign_in({"method": "api_key", "api_key": "nope"})).status_code
        for _ in range(5)
    ]
    assert codes == [401] * 4 + [429]


async def test_successful_sign_ins_do_not_count_against_the_address(
    ctx: AppContext, new_browser: BrowserFactory
) -> None:
    """Ten good sign-ins from one address in a minute all succeed (only failures count)."""
    codes = [(await new_browser().sign_in_key("viewer")).status_code for _ in range(10)]
    assert codes == [303] * 10
