"""`certctl route-overrides list|create`: a team's or owner's own destination for a channel."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from certctl.cli.client_cmds import render
from certctl.cli.client_cmds.session import (
    DEFAULT_SERVER,
    ApiKeyOpt,
    CaBundleOpt,
    ClientOptions,
    Output,
    OutputOpt,
    ServerOpt,
    call,
    fail,
)
from certctl.client.models import Page, RouteOverride

app = typer.Typer(
    help="Routing overrides: a team's or owner's own destination for a channel.",
    no_args_is_help=True,
)


def override_table(page: Page[RouteOverride]) -> Table:
    """Overrides with their scope, tier and destination (secrets masked)."""
    table = render.listing(
        "Routing overrides", ["ID", "Name", "Scope", "Tier", "Channel", "Destination"]
    )
    for item in page["data"]:
        scope = f"owner {item['owner_id']}" if item["owner_id"] else f"team {item['team_id']}"
        destination = ", ".join(f"{k}={v}" for k, v in item["config"].items())
        table.add_row(
            item["id"],
            item["name"] + ("" if item["enabled"] else " (off)"),
            scope,
            item["tier"] or "every tier",
            item["channel"],
            destination,
        )
    return table


@app.command("list")
def list_route_overrides(
    team: Annotated[str | None, typer.Option(help="Only this team's.")] = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List routing overrides by name (secrets masked)."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(
        options, lambda c: c.list_route_overrides(team_id=team, page=page, per_page=per_page)
    )
    render.emit_page(options, found, lambda: override_table(found))


@app.command("create")
def create_route_override(
    name: Annotated[str, typer.Option(help="Name.", show_default=False)],
    channel: Annotated[str, typer.Option(help="Slack, Teams, PagerDuty, …", show_default=False)],
    config: Annotated[
        str,
        typer.Option(
            help='JSON of the fields replaced, e.g. \'{"routing_key": "…"}\'.',
            show_default=False,
        ),
    ],
    team: Annotated[str | None, typer.Option(help="Team id.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner id.")] = None,
    tier: Annotated[str | None, typer.Option(help="One tier (default: every tier).")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Give a team or owner its own destination for a channel (secrets sealed, shown masked)."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    try:
        parsed = json.loads(config)
    except ValueError:
        fail("--config must be a JSON object", code=2)
    if not isinstance(parsed, dict):
        fail("--config must be a JSON object", code=2)
    fields: dict[str, Any] = {"name": name, "channel": channel, "config": parsed}
    given = {"team_id": team, "owner_id": owner, "tier": tier}
    fields.update({k: v for k, v in given.items() if v})
    item = call(options, lambda c: c.create_route_override(fields))
    page: Page[RouteOverride] = {"data": [item], "total": 1, "page": 1, "per_page": 1}
    render.emit(options, item, lambda: override_table(page))
