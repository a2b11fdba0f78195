"""Every dashboard POST route refuses a missing or wrong CSRF token, found from the app itself."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute

from certctl.api.app import create_app
from certctl.api.dashboard.rendering import DashboardRoute
from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest, SortKey
from certctl.testing.routes import api_routes

from .conftest import Browser, SignedIn

FORM = {"name": "csrf-probe", "reason": "superseded", "email": "probe@example.com"}


def dashboard_posts(ctx: AppContext) -> list[APIRoute]:
    """Every POST route the dashboard modules define, as the application has them."""
    return [
        route
        for route in api_routes(create_app(ctx))
        if "POST" in route.methods and route.endpoint.__module__.startswith("certctl.api.dashboard")
    ]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


async def _successes(ctx: AppContext) -> list[str]:
    page = await ctx.audit.search(
        SYSTEM_CALLER, request=PageRequest(per_page=500), filters=AuditFilter(status="success")
    )
    return sorted(e.action for e in page.items)


def test_the_dashboard_has_its_post_routes_on_the_csrf_checking_route_class(
    ctx: AppContext,
) -> None:
    """All dashboard POST routes are found (29 today) and each is a DashboardRoute."""
    routes = dashboard_posts(ctx)
    assert len(routes) == 29
    assert [r.path for r in routes if not isinstance(r, DashboardRoute)] == []


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_every_post_route_refuses_a_missing_or_wrong_token(
    ctx: AppContext, signed_in: SignedIn, token: str | None
) -> None:
    """With a live admin session, each POST without the right token is 403 and changes nothing."""
    browser = await signed_in("admin")
    before = await _successes(ctx)
    answers = {}
    for route in dashboard_posts(ctx):
        if route.path == "/login":
            continue
        data = dict(FORM) if token is None else {**FORM, "csrf_token": token}
        answer = await browser.client.post(_concrete(route.path), data=data)
        answers[route.path] = (answer.status_code, "CSRF token is missing or wrong" in answer.text)
    assert answers == {r.path: (403, True) for r in dashboard_posts(ctx) if r.path != "/login"}
    assert await _successes(ctx) == before


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_sign_in_refuses_a_missing_or_wrong_token(
    ctx: AppContext, new_browser: type[Browser], token: str | None
) -> None:
    """The sign-in POST checks its double-submit token: without the right one it is 403."""
    browser = new_browser()
    await browser.client.get("/login")
    data = {"method": "api_key", "api_key": "admin-key-0000000000"}
    if token is not None:
        data["csrf_token"] = token
    answer = await browser.client.post("/login", data=data)
    assert answer.status_code == 403
    assert "certctl_session" not in answer.cookies


async def test_a_right_token_is_accepted(ctx: AppContext, signed_in: SignedIn) -> None:
    """The same POST with the session's token goes through (the check is not a blanket 403)."""
    browser = await signed_in("admin")
    answer = await browser.post("/teams", {"name": "ops"})
    assert answer.status_code == 303
    teams = await ctx.teams.search(SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"))
    assert teams.total == 1


async def test_a_new_route_without_a_form_dependency_is_checked_too(
    ctx: AppContext, signed_in: SignedIn
) -> None:
    """The route class enforces CSRF: a POST route that never asks for the form is covered."""
    app = create_app(ctx)
    extra = APIRouter(route_class=DashboardRoute, include_in_schema=False)
    calls: list[str] = []

    @extra.post("/probe")
    async def probe() -> PlainTextResponse:
        calls.append("ran")
        return PlainTextResponse("ran")

    app.include_router(extra)
    browser = await signed_in("admin")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://certctl.test",
        cookies=browser.client.cookies,
    ) as client:
        refused = await client.post("/probe", data={"csrf_token": "wrong"})
        accepted = await client.post("/probe", data={"csrf_token": browser.csrf})
    assert (refused.status_code, accepted.status_code, calls) == (403, 200, ["ran"])
