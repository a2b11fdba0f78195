"""`certctl owners list|show|create|update`: who answers for certificates, and their digest."""

from __future__ import annotations

from datetime import datetime
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
    now,
)
from certctl.client.models import Owner, Page
from certctl.domain.owner_digests import DigestFrequency

app = typer.Typer(help="Owners: who answers for certificates.", no_args_is_help=True)

OwnerId = Annotated[str, typer.Argument(help="Owner id.", show_default=False)]
NameOpt = Annotated[str | None, typer.Option(help="Name.", show_default=False)]
EmailOpt = Annotated[str | None, typer.Option(help="E-mail address.", show_default=False)]
TeamOpt = Annotated[str | None, typer.Option("--team", help="Team id.", show_default=False)]
DigestOpt = Annotated[
    DigestFrequency | None,
    typer.Option(
        help="E-mail digest of what needs action: off, daily (08:00 UTC) or weekly (Mondays).",
        show_default=False,
    ),
]


def owner_table(page: Page[Owner]) -> Table:
    """Owners as rows, with their team and digest."""
    table = render.listing(
        "Owners", ["ID", "Name", "Email", "Team", "Digest"], drop=("Team", "Email")
    )
    for owner in page["data"]:
        table.add_row(
            owner["id"],
            owner["name"],
            owner["email"],
            render.text(owner["team_id"]),
            owner["digest"],
        )
    return table


def owner_details(owner: Owner, at: datetime) -> Table:
    """One owner's fields."""
    return render.details(
        f"Owner {owner['id']}",
        [
            ("ID", owner["id"]),
            ("Name", owner["name"]),
            ("Email", owner["email"]),
            ("Team", render.text(owner["team_id"])),
            ("Digest", owner["digest"]),
            ("Updated", render.stamp(owner["updated_at"], at)),
        ],
    )


def _given(**values: object) -> dict[str, Any]:
    """The options given on the command line, enums as their API values."""
    return {
        key: str(value) if isinstance(value, DigestFrequency) else value
        for key, value in values.items()
        if value is not None
    }


@app.command("list")
def list_owners(
    team: TeamOpt = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List owners with their team and digest setting."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(options, lambda c: c.list_owners(team_id=team, page=page, per_page=per_page))
    render.emit_page(options, found, lambda: owner_table(found))


@app.command("show")
def show_owner(
    owner_id: OwnerId,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Show one owner."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    owner = call(options, lambda c: c.get_owner(owner_id))
    render.emit(options, owner, lambda: owner_details(owner, now()))


@app.command("create")
def create_owner(
    name: Annotated[str, typer.Option(help="Name.", show_default=False)],
    email: Annotated[str, typer.Option(help="E-mail address.", show_default=False)],
    team: TeamOpt = None,
    digest: DigestOpt = None,
    owner_id: Annotated[
        str | None, typer.Option("--id", help="Id to use (generated when omitted).")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Add an owner; the digest is off unless --digest says otherwise."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    fields = _given(id=owner_id, name=name, email=email, team_id=team, digest=digest)
    owner = call(options, lambda c: c.create_owner(fields))
    render.emit(options, owner, lambda: owner_details(owner, now()))


@app.command("update")
def update_owner(
    owner_id: OwnerId,
    name: NameOpt = None,
    email: EmailOpt = None,
    team: TeamOpt = None,
    digest: DigestOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Change an owner's name, e-mail, team or digest; what is not given stays."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    changes = _given(name=name, email=email, team_id=team, digest=digest)
    if not changes:
        fail("nothing to change: give --name, --email, --team or --digest", code=2)
    owner = call(options, lambda c: c.update_owner(owner_id, changes))
    render.emit(options, owner, lambda: owner_details(owner, now()))
