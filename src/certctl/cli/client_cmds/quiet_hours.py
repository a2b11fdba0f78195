"""`certctl quiet-hours list|create|delete`: windows in which non-critical alerts are held."""

from __future__ import annotations

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
    out,
)
from certctl.client.models import Page, QuietHours

app = typer.Typer(
    help="Quiet hours: hold non-critical alerts of a team or channel.", no_args_is_help=True
)


def quiet_table(page: Page[QuietHours]) -> Table:
    """Quiet windows with their scope and local times."""
    table = render.listing("Quiet hours", ["ID", "Name", "Team", "Channel", "Weekdays", "Window"])
    for item in page["data"]:
        table.add_row(
            item["id"],
            item["name"],
            item["team_id"] or "every team",
            item["channel"] or "every channel",
            ",".join(item["weekdays"]),
            f"{item['start']}-{item['end']} {item['timezone']}",
        )
    return table


@app.command("list")
def list_quiet_hours(
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List quiet windows by name."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(options, lambda c: c.list_quiet_hours(page=page, per_page=per_page))
    render.emit_page(options, found, lambda: quiet_table(found))


@app.command("create")
def create_quiet_hours(
    name: Annotated[str, typer.Option(help="Name.", show_default=False)],
    weekdays: Annotated[
        str, typer.Option(help="Days the window starts, comma-separated: mon,tue,…")
    ] = "mon,tue,wed,thu,fri,sat,sun",
    start: Annotated[str, typer.Option(help="Local start, HH:MM.")] = "22:00",
    end: Annotated[
        str, typer.Option(help="Local end, HH:MM (not after start: next day).")
    ] = "07:00",
    timezone: Annotated[str, typer.Option(help="IANA zone, e.g. Europe/Berlin.")] = "UTC",
    team: Annotated[str | None, typer.Option(help="Team id.")] = None,
    channel: Annotated[str | None, typer.Option(help="Channel: Slack, Email, …")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Hold non-critical alerts of a team, a channel or both in a local-time window."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    fields: dict[str, Any] = {
        "name": name,
        "weekdays": [d.strip() for d in weekdays.split(",") if d.strip()],
        "start": start,
        "end": end,
        "timezone": timezone,
    }
    fields.update({k: v for k, v in {"team_id": team, "channel": channel}.items() if v})
    item = call(options, lambda c: c.create_quiet_hours(fields))
    page: Page[QuietHours] = {"data": [item], "total": 1, "page": 1, "per_page": 1}
    render.emit(options, item, lambda: quiet_table(page))


@app.command("delete")
def delete_quiet_hours(
    quiet_hours_id: Annotated[str, typer.Argument(help="Quiet hours id.", show_default=False)],
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Delete a quiet window; what it held goes out at the next dispatch."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    call(options, lambda c: c.delete_quiet_hours(quiet_hours_id))
    out.print(f"deleted {quiet_hours_id}", markup=False)
