"""Server-side CLI commands against a real database."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from typer.testing import CliRunner

from certctl import __version__
from certctl.api.app import create_app
from certctl.bootstrap import build_context
from certctl.cli.main import app
from certctl.settings import Settings


def _invoke(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.stdout, result.stderr


async def test_version_prints_the_package_version() -> None:
    """`certctl version` prints the version and exits 0."""
    code, out, _ = await asyncio.to_thread(_invoke, ["version"], {})
    assert (code, out.strip()) == (0, __version__)


async def test_db_upgrade_is_idempotent(database_url: str) -> None:
    """`certctl db upgrade` succeeds on an already migrated database."""
    env = {"CERTCTL_DATABASE_URL": database_url}
    for _ in range(2):
        code, out, _ = await asyncio.to_thread(_invoke, ["db", "upgrade"], env)
        assert code == 0
        assert "newest schema" in out


async def test_apikey_create_prints_a_working_key_once(database_url: str) -> None:
    """The printed key authenticates with the chosen role; only its hash is stored."""
    env = {"CERTCTL_DATABASE_URL": database_url}
    code, out, err = await asyncio.to_thread(
        _invoke, ["apikey", "create", "--name", "ci-bot", "--role", "viewer"], env
    )
    assert code == 0
    key = out.strip()
    assert key.startswith("cc_")
    assert "shown only once" in err
    ctx = build_context(Settings(database_url=database_url))
    try:
        transport = httpx.ASGITransport(app=create_app(ctx))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {"Authorization": f"Bearer {key}"}
            assert (await client.get("/api/v1/teams", headers=headers)).status_code == 200
            assert (
                await client.post("/api/v1/teams", json={"name": "x"}, headers=headers)
            ).status_code == 403
    finally:
        await ctx.aclose()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CERTCTL_AUTH_TYPE": "none"}, "CERTCTL_DEMO_MODE_ACK"),
        ({"CERTCTL_CONFIG_ENCRYPTION_KEY": "change-me"}, "CERTCTL_CONFIG_ENCRYPTION_KEY"),
        ({"CERTCTL_SERVER_TLS_CERT_PATH": "/tmp/c.pem"}, "go together"),
    ],
)
async def test_bad_configuration_exits_2_with_one_line(env: dict[str, str], message: str) -> None:
    """Configuration errors stop the command with exit code 2 and a readable message."""
    code, _, err = await asyncio.to_thread(_invoke, ["db", "upgrade"], env)
    assert code == 2
    assert message in err
