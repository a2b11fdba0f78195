"""`certctl issuers …`: the configured CAs, and a connection test of one of them."""

from __future__ import annotations

from typing import Annotated

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
from certctl.client.models import Issuer as IssuerModel
from certctl.client.models import IssuerTest, Page

app = typer.Typer(help="Issuers (certificate authorities).", no_args_is_help=True)

IssuerId = Annotated[str, typer.Argument(help="Issuer id.", show_default=False)]


def issuer_table(page: Page[IssuerModel]) -> Table:
    """Issuers as rows."""
    table = render.listing("Issuers", ["ID", "Name", "Type", "Enabled", "Test status"])
    for issuer in page["data"]:
        table.add_row(
            issuer["id"],
            issuer["name"],
            issuer["type"],
            "yes" if issuer["enabled"] else "no",
            issuer["test_status"],
        )
    return table


@app.command("list")
def list_issuers(
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List issuers."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(options, lambda c: c.list_issuers(page=page, per_page=per_page))
    render.emit_page(options, found, lambda: issuer_table(found))


def _verdict(result: IssuerTest) -> Table:
    return render.details(
        f"Issuer {result['issuer']['id']}",
        [
            ("Result", "passed" if result["ok"] else "failed"),
            ("Detail", result["detail"]),
            ("Type", result["issuer"]["type"]),
        ],
    )


@app.command("test")
def check_issuer(
    issuer_id: IssuerId,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Reach the issuer's CA with its stored config; exits 1 when the test fails."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    result = call(options, lambda c: c.test_issuer(issuer_id))
    render.emit(options, result, lambda: _verdict(result))
    if not result["ok"]:
        fail(f"connection test failed: {result['detail']}", code=1)
