"""`certctl quiet-hours list|create|delete` against the app."""

from __future__ import annotations

import httpx

from .conftest import Cli, rows


async def test_create_list_delete(cli: Cli, api: httpx.AsyncClient) -> None:
    """create stores the window as given, list shows it, delete removes it (204 handled)."""
    made = await cli(
        "quiet-hours",
        "create",
        "--name",
        "slack nights",
        "--channel",
        "Slack",
        "--weekdays",
        "fri,sat",
        "--timezone",
        "Europe/Berlin",
        "--output",
        "json",
        role="operator",
    )
    assert made.code == 0, made.stderr
    created = made.json()
    assert (created["weekdays"], created["start"], created["end"], created["timezone"]) == (
        ["fri", "sat"],
        "22:00",
        "07:00",
        "Europe/Berlin",
    )
    listed = await cli("quiet-hours", "list", role="viewer")
    assert rows(listed.stdout) == [
        [
            created["id"],
            "slack nights",
            "every team",
            "Slack",
            "fri,sat",
            "22:00-07:00 Europe/Berlin",
        ]
    ]
    gone = await cli("quiet-hours", "delete", created["id"], role="operator")
    assert (gone.code, gone.stdout) == (0, f"deleted {created['id']}\n")
    assert (await api.get("/api/v1/quiet-hours")).json()["total"] == 0


async def test_unknown_zone_is_refused(cli: Cli) -> None:
    """An unknown IANA zone is refused by the server (exit 1) with its reason."""
    run = await cli(
        "quiet-hours", "create", "--name", "n", "--channel", "Slack", "--timezone", "Mars/Base"
    )
    assert (run.code, run.stderr) == (
        1,
        "error: Invalid request (HTTP 400): unknown IANA time zone 'Mars/Base'\n",
    )
