"""`certctl silences list|create|expire` against the app."""

from __future__ import annotations

import httpx

from .conftest import Cli, rows


async def test_create_then_list_then_expire(cli: Cli, api: httpx.AsyncClient) -> None:
    """create --for 4h stores a silence ending 4 h from now; list shows it; expire ends it."""
    made = await cli(
        "silences",
        "create",
        "--reason",
        "maintenance",
        "--team",
        "t-x",
        "--for",
        "4h",
        "--output",
        "json",
        role="operator",
    )
    assert made.code == 0, made.stdout
    created = made.json()
    assert (created["team_id"], created["reason"], created["created_by"]) == (
        "t-x",
        "maintenance",
        "operator-user",
    )
    listed = await cli("silences", "list", role="viewer")
    assert rows(listed.stdout) == [
        [created["id"], "team_id=t-x", "active", "in 4 h", "maintenance", "operator-user"]
    ]
    ended = await cli("silences", "expire", created["id"], "--output", "json", role="operator")
    assert ended.json()["ends_at"] == created["starts_at"]
    stored = (await api.get(f"/api/v1/silences/{created['id']}")).json()
    assert stored["ends_at"] == created["starts_at"]


async def test_bad_duration_is_a_usage_error(cli: Cli) -> None:
    """--for 4 hours is refused with exit 2 before anything is sent."""
    run = await cli("silences", "create", "--reason", "r", "--team", "t-x", "--for", "4 hours")
    assert run.code == 2


async def test_viewer_cannot_create(cli: Cli) -> None:
    """A viewer's create is refused by the server (exit 1, 403)."""
    run = await cli("silences", "create", "--reason", "r", "--team", "t-x", role="viewer")
    assert run.code == 1
