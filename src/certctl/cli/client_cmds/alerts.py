"""`certctl alerts …`: list alerts, show one with its deliveries, acknowledge, resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.table import Table

from certctl.cli.client_cmds import render
from certctl.cli.client_cmds.notifications import notification_table
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
from certctl.client.models import Alert, AlertDetail, AlertForecast, Notification, Page

app = typer.Typer(help="Alerts: open, acknowledged, resolved.", no_args_is_help=True)
AlertId = Annotated[str, typer.Argument(help="Alert id.", show_default=False)]


def alert_table(page: Page[Alert], at: datetime) -> Table:
    """Alerts with their state, tier and subject."""
    table = render.listing(
        "Alerts",
        ["ID", "State", "Kind", "Tier", "Threshold", "Subject", "Opened"],
        drop=("Opened", "Threshold", "Kind"),
    )
    for item in page["data"]:
        table.add_row(
            item["id"],
            render.status(item["state"], render.ALERT_STYLES),
            item["kind"],
            item["tier"],
            render.text(item["threshold"]),
            item["subject"],
            render.relative(item["opened_at"], at),
        )
    return table


def alert_details(item: Alert, at: datetime) -> Table:
    """Every field of one alert."""
    rows: list[tuple[str, RenderableType]] = [
        ("ID", item["id"]),
        ("State", render.status(item["state"], render.ALERT_STYLES)),
        ("Kind", item["kind"]),
        ("Tier", item["tier"]),
        ("Threshold", render.text(item["threshold"])),
        ("Subject", item["subject"]),
        ("Cause", render.text(item["cause"])),
        ("Certificate", item["certificate_id"]),
        ("Incident key", item["incident_key"]),
        ("Opened", render.stamp(item["opened_at"], at)),
        ("Acknowledged", _who(item["acknowledged_by"], item["acknowledged_at"], at)),
        ("Resolved", _who(item["resolved_by"], item["resolved_at"], at)),
        ("Resolve reason", render.text(item["resolve_reason"])),
        ("Escalated", render.stamp(item.get("escalated_at"), at)),
    ]
    return render.details(f"Alert {item['id']}", rows)


def _who(by: str | None, when: str | None, at: datetime) -> RenderableType:
    if by is None:
        return render.text(None)
    return f"{by}, {render.stamp(when, at)}"


def detail_view(item: AlertDetail, at: datetime) -> Group:
    """The alert, then its deliveries."""
    page: Page[Notification] = {
        "data": list(item["deliveries"]),
        "total": len(item["deliveries"]),
        "page": 1,
        "per_page": max(1, len(item["deliveries"])),
    }
    return Group(alert_details(item, at), notification_table(page, at))


@app.command("list")
def list_alerts(
    state: Annotated[str | None, typer.Option(help="open, acknowledged or resolved.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="expiry, renewal_failed, overdue, deployment_failed, drift.")
    ] = None,
    tier: Annotated[str | None, typer.Option(help="informational, warning or critical.")] = None,
    certificate: Annotated[str | None, typer.Option(help="Certificate id.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner id (of the certificate).")] = None,
    team: Annotated[str | None, typer.Option(help="Team id (of the certificate).")] = None,
    sort: Annotated[str | None, typer.Option(help="Field, '-' prefix for descending.")] = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List alerts, newest first."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(
        options,
        lambda c: c.list_alerts(
            state=state,
            kind=kind,
            tier=tier,
            certificate_id=certificate,
            owner_id=owner,
            team_id=team,
            sort=sort,
            page=page,
            per_page=per_page,
        ),
    )
    render.emit_page(options, found, lambda: alert_table(found, now()))


@app.command("show")
def show_alert(
    alert_id: AlertId,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Show one alert and every delivery beneath it."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    item = call(options, lambda c: c.get_alert(alert_id))
    render.emit(options, item, lambda: detail_view(item, now()))


@app.command("ack")
def acknowledge_alert(
    alert_id: AlertId,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Acknowledge an open alert."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    item = call(options, lambda c: c.acknowledge_alert(alert_id))
    render.emit(options, item, lambda: alert_details(item, now()))


@app.command("resolve")
def resolve_alert(
    alert_id: AlertId,
    reason: Annotated[str, typer.Option(help="Why the alert is resolved (required).")],
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Resolve an alert: undelivered rows are cancelled, resolve notices go out."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    item = call(options, lambda c: c.resolve_alert(alert_id, reason=reason))
    render.emit(options, item, lambda: alert_details(item, now()))


def forecast_table(found: AlertForecast) -> Table:
    """Each day with deliveries: its counts per tier, then one row per delivery."""
    table = render.listing(
        f"Alert forecast, next {found['days']} days (assumes no renewal)",
        ["Day", "Certificate", "Threshold", "Tier", "Channel", "To", "Status"],
        drop=("To",),
    )
    for day in found["forecast"]:
        for item in day["items"]:
            status = item["status"]
            if item["silence_id"]:
                status = f"silenced ({item['silence_id']})"
            elif item["held_until"]:
                status = f"held until {item['held_until']}"
            table.add_row(
                day["date"],
                item["certificate_name"],
                item["threshold"],
                item["tier"],
                item["channel"],
                render.text(item["destination"] or None),
                status,
            )
    return table


@app.command("forecast")
def alert_forecast(
    days: Annotated[int, typer.Option(min=1, max=90, help="Days ahead (1-90).")] = 30,
    certificate: Annotated[str | None, typer.Option(help="Certificate id.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner id (of the certificate).")] = None,
    team: Annotated[str | None, typer.Option(help="Team id (of the certificate).")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Which alerts would fire on each of the next days, to whom (no renewal assumed)."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(
        options,
        lambda c: c.alert_forecast(
            days=days, certificate_id=certificate, owner_id=owner, team_id=team
        ),
    )
    render.emit(options, found, lambda: forecast_table(found))
