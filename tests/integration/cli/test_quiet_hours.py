"""`certctl quiet-hours list|create|delete` and `certctl route-overrides list` against the app."""

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


async def test_route_overrides_list_masks_secrets(cli: Cli, api: httpx.AsyncClient) -> None:
    """`route-overrides list` shows scope, tier, channel and the destination, secrets masked."""
    team = (await api.post("/api/v1/teams", json={"name": "Pay"})).json()
    created = await api.post(
        "/api/v1/route-overrides",
        json={
            "name": "pay pager",
            "channel": "PagerDuty",
            "team_id": team["id"],
            "tier": "critical",
            "config": {"routing_key": "R0UT1NG"},
        },
    )
    assert created.status_code == 201, created.text
    run = await cli("route-overrides", "list", role="viewer")
    assert rows(run.stdout) == [
        [
            created.json()["id"],
            "pay pager",
            f"team {team['id']}",
            "critical",
            "PagerDuty",
            "routing_key=********",
        ]
    ]


async def test_route_override_create_seals_the_key(cli: Cli, api: httpx.AsyncClient) -> None:
    """`route-overrides create` stores the override; the routing key is answered masked."""
    team = (await api.post("/api/v1/teams", json={"name": "Pay"})).json()
    run = await cli(
        "route-overrides",
        "create",
        "--name",
        "pay pager",
        "--channel",
        "PagerDuty",
        "--team",
        team["id"],
        "--tier",
        "critical",
        "--config",
        '{"routing_key": "R0UT1NG"}',
        "--output",
        "json",
        role="operator",
    )
    assert run.code == 0, run.stderr
    assert (run.json()["config"], run.json()["tier"]) == ({"routing_key": "********"}, "critical")


async def test_route_override_config_must_be_json(cli: Cli) -> None:
    """A --config that is not a JSON object is a usage error (exit 2)."""
    run = await cli(
        "route-overrides",
        "create",
        "--name",
        "n",
        "--channel",
        "Slack",
        "--team",
        "t",
        "--config",
        "webhook_url=x",
    )
    assert (run.code, run.stderr) == (2, "error: --config must be a JSON object\n")
