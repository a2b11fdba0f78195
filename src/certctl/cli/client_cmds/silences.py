"""`certctl silences list|create|expire`: time-bounded mutes of alert deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta
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
from certctl.client.models import Page, Silence

app = typer.Typer(help="Silences: mute alert deliveries for a while.", no_args_is_help=True)
MATCHERS = ("certificate_id", "owner_id", "team_id", "environment", "issuer_id", "tag", "channel")


def _matchers(item: Silence) -> str:
    return ", ".join(f"{k}={item[k]}" for k in MATCHERS if item[k]) or render.DASH  # type: ignore[literal-required]


def silence_table(page: Page[Silence], at: datetime) -> Table:
    """Silences with their matchers, their state and when they end."""
    table = render.listing(
        "Silences", ["ID", "Matchers", "State", "Ends", "Reason", "By"], drop=("By", "Reason")
    )
    for item in page["data"]:
        table.add_row(
            item["id"],
            _matchers(item),
            _state(item, at),
            render.relative(item["ends_at"], at),
            item["reason"],
            item["created_by"],
        )
    return table


def _state(item: Silence, at: datetime) -> str:
    starts = datetime.fromisoformat(item["starts_at"])
    ends = datetime.fromisoformat(item["ends_at"])
    return "active" if starts <= at < ends else "ended" if ends <= at else "scheduled"


def silence_details(item: Silence, at: datetime) -> Table:
    """One silence."""
    return render.details(
        f"Silence {item['id']}",
        [
            ("ID", item["id"]),
            ("Matchers", _matchers(item)),
            ("State", _state(item, at)),
            ("Starts", render.stamp(item["starts_at"], at)),
            ("Ends", render.stamp(item["ends_at"], at)),
            ("Reason", item["reason"]),
            ("Created by", item["created_by"]),
        ],
    )


def _duration(text: str) -> timedelta:
    """`90m`, `4h`, `7d` as a duration."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        fail(f"--for must look like 90m, 4h or 7d, not {text!r}", code=2)
    return timedelta(**{units[text[-1]]: int(text[:-1])})


@app.command("list")
def list_silences(
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List silences, the one ending last first."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(options, lambda c: c.list_silences(page=page, per_page=per_page))
    render.emit_page(options, found, lambda: silence_table(found, now()))


@app.command("create")
def create_silence(
    reason: Annotated[str, typer.Option(help="Why (required).", show_default=False)],
    duration: Annotated[
        str, typer.Option("--for", help="How long: 90m, 4h, 7d (at most 90 days).")
    ] = "4h",
    certificate: Annotated[str | None, typer.Option(help="Certificate id.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner id.")] = None,
    team: Annotated[str | None, typer.Option(help="Team id.")] = None,
    environment: Annotated[str | None, typer.Option(help="Environment.")] = None,
    issuer: Annotated[str | None, typer.Option(help="Issuer id.")] = None,
    tag: Annotated[str | None, typer.Option(help="Tag: key or key=value.")] = None,
    channel: Annotated[str | None, typer.Option(help="Channel: Slack, Email, …")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Mute the deliveries every given matcher selects, from now for --for."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    given = {
        "certificate_id": certificate,
        "owner_id": owner,
        "team_id": team,
        "environment": environment,
        "issuer_id": issuer,
        "tag": tag,
        "channel": channel,
    }
    fields: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    fields["reason"] = reason
    fields["ends_at"] = (now() + _duration(duration)).isoformat()
    item = call(options, lambda c: c.create_silence(fields))
    render.emit(options, item, lambda: silence_details(item, now()))


@app.command("expire")
def expire_silence(
    silence_id: Annotated[str, typer.Argument(help="Silence id.", show_default=False)],
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """End a silence now; what it muted goes out at the next dispatch."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    item = call(options, lambda c: c.expire_silence(silence_id))
    render.emit(options, item, lambda: silence_details(item, now()))
