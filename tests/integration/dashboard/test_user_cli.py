"""`certctl user create`: a dashboard user from the command line, password on standard input."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from certctl.bootstrap import build_context
from certctl.cli.main import app
from certctl.domain.access import SYSTEM_CALLER, Role
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest
from certctl.settings import Settings

from .conftest import PASSWORD


def _invoke(args: list[str], env: dict[str, str], stdin: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, args, env=env, input=stdin)
    return result.exit_code, result.stderr


async def test_user_create_reads_the_password_from_stdin(database_url: str) -> None:
    """The user is stored with the role and signs in with the password read from stdin."""
    env = {"CERTCTL_DATABASE_URL": database_url}
    code, err = await asyncio.to_thread(
        _invoke, ["user", "create", "dana", "--role", "operator"], env, PASSWORD + "\n"
    )
    ctx = build_context(Settings(database_url=database_url))
    try:
        session, _ = await ctx.users.login_password("dana", PASSWORD)
        created = await ctx.audit.search(
            SYSTEM_CALLER, request=PageRequest(), filters=AuditFilter(action="user_created")
        )
    finally:
        await ctx.aclose()
    assert (code, err.strip()) == (0, "dashboard user 'dana' (operator) created")
    assert (session.principal_name, session.role) == ("dana", Role.OPERATOR)
    assert [(e.actor, dict(e.details)) for e in created.items] == [
        ("system", {"username": "dana", "role": "operator"})
    ]


async def test_user_create_refuses_a_short_password(database_url: str) -> None:
    """A password under 12 characters exits 1 naming the rule."""
    env = {"CERTCTL_DATABASE_URL": database_url}
    code, err = await asyncio.to_thread(_invoke, ["user", "create", "dana"], env, "short\n")
    assert code == 1
    assert "password must have at least 12 characters" in err


async def test_user_create_refuses_a_second_user_of_the_same_name(database_url: str) -> None:
    """Usernames are unique: the second create exits 1."""
    env = {"CERTCTL_DATABASE_URL": database_url}
    first, _ = await asyncio.to_thread(_invoke, ["user", "create", "dana"], env, PASSWORD + "\n")
    second, err = await asyncio.to_thread(_invoke, ["user", "create", "dana"], env, PASSWORD + "\n")
    assert (first, second) == (0, 1)
    assert "already exists" in err
