"""Property-based fuzzing of every API operation from the served OpenAPI: never a 5xx."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from certctl.testing.keys import KEYS, NAMED_KEYS
from certctl.testing.postgres import ThrowawayCluster, free_port

pytestmark = pytest.mark.e2e
CERTCTL = str(Path(sys.executable).parent / "certctl")
MAX_EXAMPLES = int(os.environ.get("CERTCTL_FUZZ_EXAMPLES", "25"))


def _database(backend: str, request: pytest.FixtureRequest, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp}/fuzz.db"
    cluster: ThrowawayCluster = request.getfixturevalue("pg_cluster")

    async def create() -> None:
        conn = await asyncpg.connect(cluster.admin_url)
        try:
            await conn.execute("DROP DATABASE IF EXISTS fuzz WITH (FORCE)")
            await conn.execute("CREATE DATABASE fuzz")
        finally:
            await conn.close()

    asyncio.run(create())
    return cluster.url("fuzz")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real `certctl serve` with an encryption key and keys for every role."""
    tmp = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
    env.update(
        CERTCTL_SERVER_PORT=str(port),
        CERTCTL_DATABASE_URL=_database(request.param, request, tmp),
        CERTCTL_API_KEYS_NAMED=NAMED_KEYS,
        CERTCTL_CONFIG_ENCRYPTION_KEY="fuzz-encryption-key-0123456789",
        CERTCTL_LOG_LEVEL="warning",
        # The fuzzer sends thousands of requests a minute with one key and many without one.
        CERTCTL_RATE_LIMIT_API_KEY_PER_MINUTE="0",
        CERTCTL_RATE_LIMIT_ADDRESS_PER_MINUTE="0",
    )
    proc = subprocess.Popen(
        [CERTCTL, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
        yield url
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
        assert "request.crashed" not in err, err[-4000:]


def _wait(url: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError("server exited before it was ready")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        try:
            proc.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            continue
    raise AssertionError("server not ready")


def test_no_operation_answers_5xx(live_server: str) -> None:
    """Whatever the generated input, every operation answers below 500; 4xx are problem+json."""
    api = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {KEYS['admin']}"}
    operations = [op.ok() for op in api.get_all_operations()]
    assert len(operations) >= 40

    @given(case=st.one_of([op.as_strategy() for op in operations]))
    @settings(
        max_examples=MAX_EXAMPLES * len(operations),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def exercise(case: schemathesis.Case) -> None:
        response = case.call(headers=headers, timeout=30)
        assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:2000]}"
        if response.status_code >= 400:
            assert response.headers["content-type"] == ["application/problem+json"], (
                f"{case.method} {case.path} {response.status_code}: {response.text[:300]}"
            )

    exercise()
