"""Rate limits per API key, per client address and per sign-in account, shared through the
database by every worker and replica (C10)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext, build_context
from certctl.clock import FrozenClock
from certctl.settings import Settings
from certctl.testing.keys import KEYS
from certctl.testing.queries import driver_queries, transaction_control

Factory = Callable[[str | None], httpx.AsyncClient]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small limits: 5 requests per key and 4 failures per address a minute, lock after 3."""
    return settings.model_copy(
        update={
            "rate_limit_api_key_per_minute": 5,
            "rate_limit_address_per_minute": 4,
            "signin_backoff_after": 3,
            "signin_backoff_base_seconds": 30.0,
        }
    )


def _client(ctx: AppContext, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(ctx)),
        base_url="http://certctl.test",
        headers=headers,
    )


@pytest.fixture
async def admin(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client of one server."""
    async with _client(ctx, KEYS["admin"]) as client:
        yield client


async def _statuses(
    client: httpx.AsyncClient, count: int, path: str = "/api/v1/teams"
) -> list[int]:
    return [(await client.get(path)).status_code for _ in range(count)]


async def test_key_over_its_limit_gets_429_problem_with_retry_after(
    admin: httpx.AsyncClient,
) -> None:
    """The sixth request of a key within a minute is a 429 problem naming the limit."""
    assert await _statuses(admin, 5) == [200] * 5
    answer = await admin.get("/api/v1/teams")
    assert answer.status_code == 429
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == "60"
    body = answer.json()
    assert (body["type"], body["status"]) == ("urn:certctl:problem:rate-limited", 429)
    assert body["detail"] == "API key 'admin-user' exceeded 5 requests per 60 s"


async def test_next_window_serves_again(admin: httpx.AsyncClient, clock: FrozenClock) -> None:
    """Once the window has passed, the key is served again."""
    await _statuses(admin, 6)
    clock.advance(timedelta(seconds=60))
    assert (await admin.get("/api/v1/teams")).status_code == 200


async def test_keys_are_counted_apart(ctx: AppContext, admin: httpx.AsyncClient) -> None:
    """One key's exhausted budget does not throttle another key."""
    await _statuses(admin, 6)
    async with _client(ctx, KEYS["viewer"]) as viewer:
        assert await _statuses(viewer, 5) == [200] * 5


async def test_throttled_writes_cost_no_audit_row(
    admin: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Writes refused with 429 leave no audit row; the five served writes leave five."""
    codes = [
        (await admin.post("/api/v1/teams", json={"name": f"T{n}"})).status_code for n in range(8)
    ]
    assert codes == [201] * 5 + [429] * 3
    async with ctx.runtime.db.uow() as uow:
        assert await uow.audit.count() == 5


async def test_invalid_keys_are_limited_per_address(ctx: AppContext) -> None:
    """Four wrong keys get 401, then the address gets 429 while a valid key still works."""
    async with _client(ctx, "cc_wrong-key-0123456789") as bad, _client(ctx, None) as none:
        assert await _statuses(bad, 3) == [401] * 3
        assert await _statuses(none, 1) == [401]
        answer = await bad.get("/api/v1/teams")
        assert (answer.status_code, answer.headers["retry-after"]) == (429, "60")
        assert (await none.get("/api/v1/teams")).status_code == 429
    async with _client(ctx, KEYS["viewer"]) as viewer:
        assert (await viewer.get("/api/v1/teams")).status_code == 200


async def test_limits_are_shared_by_replicas(settings: Settings, clock: FrozenClock) -> None:
    """Two servers on one database count one key together: 3 + 2 served, then 429 on both."""
    first, second = build_context(settings, clock=clock), build_context(settings, clock=clock)
    try:
        async with _client(first, KEYS["admin"]) as a, _client(second, KEYS["admin"]) as b:
            assert await _statuses(a, 3) + await _statuses(b, 2) == [200] * 5
            assert [(await c.get("/api/v1/teams")).status_code for c in (a, b)] == [429, 429]
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_key_is_charged_in_one_statement_outside_a_transaction_on_postgresql(
    admin: httpx.AsyncClient, ctx: AppContext
) -> None:
    """The counter's upsert sends no BEGIN or COMMIT on PostgreSQL, and still counts: the
    limit holds as before."""
    with driver_queries(ctx.runtime.db) as seen:
        # The list reads through an autocommit connection: any BEGIN would be the charge's.
        statuses = await _statuses(admin, 6, "/api/v1/certificates")
    assert statuses == [200, 200, 200, 200, 200, 429]
    assert transaction_control(seen) == []
