"""Dashboard tests over httpx: a browser-like client with cookies, sign-in helpers, data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER, Role
from certctl.domain.certificates import ManagedCertificate
from certctl.pki.mint import MintingCA, make_ca, mint_leaf
from certctl.testing.keys import KEYS

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The first CSRF token in a page's forms."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Browser:
    """An httpx client that keeps cookies like a browser and signs in through the forms."""

    client: httpx.AsyncClient
    csrf: str = ""
    history: list[httpx.Response] = field(default_factory=list)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        """GET a page (redirects are not followed)."""
        return await self.client.get(path, params=params or None)

    async def post(self, path: str, data: dict[str, Any], *, csrf: bool = True) -> httpx.Response:
        """POST a form, with the session's CSRF token unless told otherwise."""
        body = {"csrf_token": self.csrf, **data} if csrf else dict(data)
        return await self.client.post(path, data=body)

    async def sign_in(self, fields: dict[str, str], *, next_path: str = "/") -> httpx.Response:
        """Submit the sign-in form; on success remember the session's CSRF token."""
        page = await self.client.get("/login")
        form = {"csrf_token": csrf_of(page.text), "next": next_path, **fields}
        answer = await self.client.post("/login", data=form)
        if answer.status_code == 303:
            home = await self.client.get("/teams")
            self.csrf = csrf_of(home.text)
        return answer

    async def sign_in_key(self, role: str) -> httpx.Response:
        """Sign in with the test API key of `role`."""
        return await self.sign_in({"method": "api_key", "api_key": KEYS[role]})

    async def sign_in_user(self, username: str, password: str = PASSWORD) -> httpx.Response:
        """Sign in with a username and password."""
        return await self.sign_in(
            {"method": "password", "username": username, "password": password}
        )


BrowserFactory = Callable[[], Browser]
SignedIn = Callable[[str], Awaitable[Browser]]


@pytest.fixture
async def new_browser(ctx: AppContext) -> AsyncIterator[BrowserFactory]:
    """Factory of cookie-keeping clients on one app (each is a separate browser)."""
    app = create_app(ctx)
    clients: list[httpx.AsyncClient] = []

    def make() -> Browser:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://certctl.test"
        )
        clients.append(client)
        return Browser(client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def signed_in(new_browser: BrowserFactory) -> SignedIn:
    """Factory of browsers signed in with the API key of a role."""

    async def make(role: str) -> Browser:
        browser = new_browser()
        answer = await browser.sign_in_key(role)
        assert answer.status_code == 303
        return browser

    return make


async def make_user(ctx: AppContext, username: str, role: Role = Role.OPERATOR) -> None:
    """A dashboard user created through the service, with the test password."""
    await ctx.users.create(SYSTEM_CALLER, username=username, password=PASSWORD, role=role)


@dataclass
class Estate:
    """A small inventory: a team, an owner, a policy, a local CA and a few certificates."""

    ctx: AppContext
    ca: MintingCA

    async def certificate(self, name: str, days_left: float, **fields: Any) -> ManagedCertificate:
        """Import a minted certificate expiring in `days_left` days."""
        now = self.ctx.clock.now()
        not_after = now + timedelta(days=days_left)
        pem = mint_leaf(
            self.ca,
            common_name=f"{name}.example.com",
            sans=[f"{name}.example.com"],
            not_before=not_after - timedelta(days=90),
            not_after=not_after,
        )
        cert, _ = await self.ctx.certificates.import_pem(
            SYSTEM_CALLER,
            pem,
            {
                "name": name,
                "owner_id": "o-ann",
                "team_id": "t-web",
                "renewal_policy_id": "rp-web",
                "issuer_id": "iss-local",
                **fields,
            },
        )
        return cert


@pytest.fixture
async def estate(ctx: AppContext) -> Estate:
    """The small inventory every page test reads."""
    await ctx.teams.create(SYSTEM_CALLER, {"id": "t-web", "name": "Web"})
    await ctx.owners.create(
        SYSTEM_CALLER,
        {"id": "o-ann", "name": "Ann Lee", "email": "ann@example.com", "team_id": "t-web"},
    )
    await ctx.policies.create(SYSTEM_CALLER, {"id": "rp-web", "name": "Web policy"})
    await ctx.profiles.create(
        SYSTEM_CALLER, {"id": "cp-approve", "name": "Needs approval", "requires_approval": True}
    )
    await ctx.issuers.create(
        SYSTEM_CALLER, {"id": "iss-local", "name": "Local CA", "type": "GenericCA"}
    )
    return Estate(ctx=ctx, ca=make_ca("dashboard test CA", ctx.clock.now()))
