"""Fixtures: a fresh migrated database per test on SQLite and PostgreSQL, the app, clients."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext, build_context, migrate
from certctl.clock import FrozenClock
from certctl.settings import Settings
from certctl.testing.clock import frozen_clock
from certctl.testing.keys import KEYS, NAMED_KEYS
from certctl.testing.postgres import PostgresUnavailable, ThrowawayCluster

ENCRYPTION_KEY = "test-encryption-key-0123456789"
TEMPLATE_DB = "certctl_template"
_counter = itertools.count()


def run_isolated(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine on its own loop in a worker thread (callable from inside a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


def _postgres_optional() -> bool:
    return os.environ.get("CERTCTL_TEST_POSTGRES", "required") == "optional"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[ThrowawayCluster]:
    """One PostgreSQL cluster for the whole run, with a migrated template database."""
    try:
        cluster = ThrowawayCluster().start()
    except PostgresUnavailable as exc:
        if _postgres_optional():
            pytest.skip(f"PostgreSQL unavailable (CERTCTL_TEST_POSTGRES=optional): {exc}")
        raise
    run_isolated(_make_template(cluster))
    yield cluster
    cluster.stop()


async def _make_template(cluster: ThrowawayCluster) -> None:
    conn = await asyncpg.connect(cluster.admin_url)
    try:
        await conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    finally:
        await conn.close()
    await migrate(Settings(database_url=cluster.url(TEMPLATE_DB)))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    run_isolated(migrate(Settings(database_url=f"sqlite+aiosqlite:///{path}")))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on."""
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """A fresh database at the newest migration."""
    if backend == "sqlite":
        target = tmp_path / "certctl.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    cluster: ThrowawayCluster = request.getfixturevalue("pg_cluster")
    name = _free_databases.pop() if _free_databases else await _create_database(cluster)
    yield cluster.url(name)
    if await _reset_database(cluster, name):
        _free_databases.append(name)


_free_databases: list[str] = []


async def _create_database(cluster: ThrowawayCluster) -> str:
    name = f"t_{os.getpid()}_{next(_counter)}"
    conn = await asyncpg.connect(cluster.admin_url)
    try:
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    finally:
        await conn.close()
    return name


async def _reset_database(cluster: ThrowawayCluster, name: str) -> bool:
    """Empty every table so the database is as fresh as a new copy of the template.

    Creating a database costs ~0.3 s; truncating costs a few ms. The append-only triggers
    are bypassed for this reset only (replica role); a database still in use is dropped.
    """
    conn = await asyncpg.connect(cluster.url(name))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
        names = ", ".join(f'"{t["tablename"]}"' for t in tables)
        await conn.execute("SET lock_timeout = '2s'; SET session_replication_role = replica")
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        return True
    except asyncpg.PostgresError:
        admin = await asyncpg.connect(cluster.admin_url)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()
        return False
    finally:
        if not conn.is_closed():
            await conn.close()


@pytest.fixture
def clock() -> FrozenClock:
    """Time frozen at TEST_EPOCH."""
    return frozen_clock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings with one named key per role and an encryption key; rate limits are off
    (time is frozen, so every request of a test falls in one window) except where a test of
    the limits switches them on."""
    return Settings(
        database_url=database_url,
        api_keys_named=NAMED_KEYS,  # type: ignore[arg-type]
        config_encryption_key=ENCRYPTION_KEY,  # type: ignore[arg-type]
        rate_limit_api_key_per_minute=0,
        rate_limit_address_per_minute=0,
        signin_backoff_after=0,
    )


@pytest.fixture
async def ctx(settings: Settings, clock: FrozenClock) -> AsyncIterator[AppContext]:
    """The application context on the fresh database."""
    context = build_context(settings, clock=clock)
    yield context
    await context.aclose()


@pytest.fixture
async def make_client(
    ctx: AppContext,
) -> AsyncIterator[Callable[[str | None], httpx.AsyncClient]]:
    """Factory of API clients authenticated with the named role's key (None = anonymous)."""
    app = create_app(ctx)
    clients: list[httpx.AsyncClient] = []

    def make(role: str | None = "admin") -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {KEYS[role]}"} if role else {}
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://certctl.test", headers=headers
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def api(make_client: Callable[[str | None], httpx.AsyncClient]) -> httpx.AsyncClient:
    """An admin API client."""
    return make_client("admin")
