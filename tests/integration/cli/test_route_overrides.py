"""`certctl route-overrides list|create` against the app."""

from __future__ import annotations

import httpx

from .conftest import Cli, rows


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
