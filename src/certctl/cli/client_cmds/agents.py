"""`certctl agents …`: list agents and retire one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import RenderableType
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
    now,
)
from certctl.client.models import Agent, Page

app = typer.Typer(help="Agents that hold keys and deploy certificates.", no_args_is_help=True)


def agent_table(page: Page[Agent], at: datetime) -> Table:
    """Agents as rows with their last heartbeat."""
    table = render.listing(
        "Agents",
        ["ID", "Name", "Hostname", "Status", "Version", "Last seen"],
        drop=("Version", "Hostname", "Last seen", "Name"),
    )
    for agent in page["data"]:
        table.add_row(
            agent.get("id", render.DASH),
            agent.get("name", render.DASH),
            render.text(agent.get("hostname")),
            render.status(agent.get("status"), render.AGENT_STYLES),
            render.text(agent.get("version")),
            render.relative(agent.get("last_heartbeat_at"), at),
        )
    return table


def agent_details(agent: Agent, at: datetime) -> Table:
    """The fields of one agent."""
    rows: list[tuple[str, RenderableType]] = [
        ("ID", agent.get("id", render.DASH)),
        ("Name", agent.get("name", render.DASH)),
        ("Hostname", render.text(agent.get("hostname"))),
        ("Status", render.status(agent.get("status"), render.AGENT_STYLES)),
        ("Version", render.text(agent.get("version"))),
        ("Last seen", render.stamp(agent.get("last_heartbeat_at"), at)),
        ("Retired", render.stamp(agent.get("retired_at"), at)),
        ("Retired because", render.text(agent.get("retired_reason"))),
    ]
    return render.details(f"Agent {agent.get('id', '')}", rows)


@app.command("list")
def list_agents(
    status: Annotated[str | None, typer.Option(help="Online, Offline, Degraded, …")] = None,
    q: Annotated[str | None, typer.Option("--q", help="Substring of name or hostname.")] = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List agents."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(options, lambda c: c.list_agents(status=status, q=q, page=page, per_page=per_page))
    render.emit_page(options, found, lambda: agent_table(found, now()))


@app.command("retire")
def retire_agent(
    agent_id: Annotated[str, typer.Argument(help="Agent id.", show_default=False)],
    reason: Annotated[str, typer.Option(help="Why (required, kept in the audit trail).")],
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Retire an agent: it can no longer authenticate or take work."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    agent = call(options, lambda c: c.retire_agent(agent_id, reason=reason))
    render.emit(options, agent, lambda: agent_details(agent, now()))
