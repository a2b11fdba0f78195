"""`certctl notifications …`: the outbox and its dead letters; requeue one."""

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
    fail,
    now,
)
from certctl.client.models import Notification, Page

app = typer.Typer(help="Alert notifications (the outbox).", no_args_is_help=True)


def notification_table(page: Page[Notification], at: datetime) -> Table:
    """Outbox rows with "Retry n/5" and the last error (the certificate is in the JSON)."""
    table = render.listing(
        "Notifications",
        ["ID", "Channel", "Status", "Tier", "Retry", "Last error", "Created"],
        drop=("Created", "Tier", "Last error", "Retry"),
    )
    for item in page["data"]:
        table.add_row(
            item["id"],
            item["channel"],
            render.status(item["status"], render.NOTIFICATION_STYLES),
            item["severity_tier"],
            f"{item['attempts']}/{item['max_attempts']}",
            render.text(item["last_error"]),
            render.relative(item["created_at"], at),
        )
    return table


def notification_details(item: Notification, at: datetime) -> Table:
    """Every field of one outbox row but the message body."""
    rows: list[tuple[str, RenderableType]] = [
        ("ID", item["id"]),
        ("Kind", item["kind"]),
        ("Channel", item["channel"]),
        ("Status", render.status(item["status"], render.NOTIFICATION_STYLES)),
        ("Tier", item["severity_tier"]),
        ("Recipient", render.text(item["recipient"])),
        ("Subject", item["subject"]),
        ("Certificate", render.text(item["certificate_id"])),
        ("Retry", f"{item['attempts']}/{item['max_attempts']}"),
        ("Next retry", render.stamp(item["next_retry_at"], at)),
        ("Last error", render.text(item["last_error"])),
        ("Sent", render.stamp(item["sent_at"], at)),
        ("Created", render.stamp(item["created_at"], at)),
    ]
    return render.details(f"Notification {item['id']}", rows)


@app.command("list")
def list_notifications(
    dead: Annotated[bool, typer.Option("--dead", help="Only the dead letters.")] = False,
    status: Annotated[
        str | None,
        typer.Option(
            help="pending, sent, failed, dead, read, skipped, cancelled, silenced, held or digested."
        ),
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Email, Slack, …")] = None,
    certificate: Annotated[str | None, typer.Option(help="Certificate id.")] = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List notifications, newest first."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    if dead and status not in (None, "dead"):
        fail("--dead and --status contradict each other", code=2)
    wanted = "dead" if dead else status
    found = call(
        options,
        lambda c: c.list_notifications(
            status=wanted, channel=channel, certificate_id=certificate, page=page, per_page=per_page
        ),
    )
    render.emit_page(options, found, lambda: notification_table(found, now()))


@app.command("requeue")
def requeue_notification(
    notification_id: Annotated[str, typer.Argument(help="Notification id.", show_default=False)],
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Send a failed, dead or skipped notification again from attempt 0."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    item = call(options, lambda c: c.requeue_notification(notification_id))
    render.emit(options, item, lambda: notification_details(item, now()))
