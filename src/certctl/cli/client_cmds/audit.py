"""`certctl audit …`: search the audit trail and export it as CSV or JSON."""

from __future__ import annotations

import csv
import enum
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from certctl.cli.client_cmds import render
from certctl.cli.client_cmds.certs import moment
from certctl.cli.client_cmds.session import (
    DEFAULT_SERVER,
    ApiKeyOpt,
    CaBundleOpt,
    ClientOptions,
    Output,
    OutputOpt,
    ServerOpt,
    call,
    err,
    now,
)
from certctl.client import AuditCriteria, CertctlClient
from certctl.client.models import AuditEvent, Page

app = typer.Typer(help="The audit trail.", no_args_is_help=True)

CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "actor_type",
    "action",
    "resource_type",
    "resource_id",
    "status",
    "request_id",
    "details",
)
ActorOpt = Annotated[str | None, typer.Option(help="Who acted (key or user name, system).")]
ActionOpt = Annotated[str | None, typer.Option(help="Action, e.g. certificate_revoke.")]
TypeOpt = Annotated[str | None, typer.Option(help="Resource type, e.g. certificate.")]
ResourceOpt = Annotated[str | None, typer.Option(help="Resource id.")]
SinceOpt = Annotated[str | None, typer.Option(help="From this ISO 8601 date or time (inclusive).")]
UntilOpt = Annotated[str | None, typer.Option(help="Before this ISO 8601 date or time.")]


class ExportFormat(enum.StrEnum):
    """File formats of an export."""

    CSV = "csv"
    JSON = "json"


def _criteria(
    actor: str | None,
    action: str | None,
    resource_type: str | None,
    resource_id: str | None,
    since: str | None,
    until: str | None,
) -> AuditCriteria:
    return AuditCriteria(
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        since=moment(since, "--since") if since else None,
        until=moment(until, "--until") if until else None,
    )


def audit_table(page: Page[AuditEvent], at: datetime) -> Table:
    """Audit events as rows, newest first."""
    table = render.listing(
        "Audit",
        ["When", "Actor", "Action", "Resource", "Status"],
        whole=("Resource",),
        drop=("Status", "Actor", "When"),
    )
    for event in page["data"]:
        table.add_row(
            render.relative(event["occurred_at"], at),
            event["actor"],
            event["action"],
            f"{event['resource_type']}/{event['resource_id']}",
            render.status(event["status"], render.AUDIT_STYLES),
        )
    return table


@app.command("list")
def list_audit(
    actor: ActorOpt = None,
    action: ActionOpt = None,
    resource_type: TypeOpt = None,
    resource_id: ResourceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Search the audit trail, newest first."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    criteria = _criteria(actor, action, resource_type, resource_id, since, until)
    found = call(options, lambda c: c.list_audit(criteria, page=page, per_page=per_page))
    render.emit_page(options, found, lambda: audit_table(found, now()))


def to_csv(events: list[AuditEvent]) -> str:
    """CSV with a header row; ``details`` as compact JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        row = {**event, "details": json.dumps(event["details"], sort_keys=True)}
        writer.writerow(["" if row.get(c) is None else row[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


@app.command("export")
def export_audit(
    export_format: Annotated[
        ExportFormat, typer.Option("--format", case_sensitive=False, help="csv or json.")
    ] = ExportFormat.CSV,
    out_file: Annotated[
        Path | None,
        typer.Option("-o", "--out-file", dir_okay=False, help="Write here instead of stdout."),
    ] = None,
    actor: ActorOpt = None,
    action: ActionOpt = None,
    resource_type: TypeOpt = None,
    resource_id: ResourceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Export every matching audit event (all pages), newest first."""
    options = ClientOptions(server, api_key, Output.JSON, ca_bundle)
    criteria = _criteria(actor, action, resource_type, resource_id, since, until)

    async def collect(client: CertctlClient) -> list[AuditEvent]:
        return [event async for event in client.iter_audit(criteria)]

    events = call(options, collect)
    document = (
        to_csv(events)
        if export_format is ExportFormat.CSV
        else json.dumps(events, indent=2, ensure_ascii=False) + "\n"
    )
    if out_file is None:
        typer.echo(document, nl=False)
        return
    out_file.write_text(document, encoding="utf-8")
    err.print(f"{len(events)} audit events written to {out_file}", markup=False)
