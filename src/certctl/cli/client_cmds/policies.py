"""`certctl policies …`: renewal policies and their alert matrix (threshold → tier → channels)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
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
from certctl.client.models import Page, Policy
from certctl.domain.policies import DEFAULT_CHANNEL_MATRIX, DEFAULT_SEVERITY_MAP, SeverityTier
from certctl.domain.thresholds import key_of, order, percent_of

app = typer.Typer(help="Renewal policies and alert routing.", no_args_is_help=True)

MATRIX_FIELDS = ("alert_thresholds_days", "alert_severity_map", "alert_channels")
PolicyId = Annotated[str, typer.Argument(help="Renewal policy id.", show_default=False)]


def policy_table(page: Page[Policy]) -> Table:
    """Policies as rows."""
    table = render.listing(
        "Renewal policies",
        ["ID", "Name", "Renewal window", "Auto-renew", "Thresholds (days)"],
        drop=("Auto-renew", "Renewal window", "Name"),
    )
    for policy in page["data"]:
        table.add_row(
            policy["id"],
            policy["name"],
            f"{policy['renewal_window_days']} d",
            "yes" if policy["auto_renew"] else "no",
            ", ".join(str(t) for t in order(policy["alert_thresholds_days"])),
        )
    return table


def matrix_table(policy: Policy) -> Table:
    """The effective alert matrix: each threshold's tier and that tier's channels."""
    severity = policy["alert_severity_map"]
    matrix = policy["alert_channels"] or DEFAULT_CHANNEL_MATRIX
    table = render.listing("Alert matrix", ["Threshold", "Tier", "Channels"])
    for days in order(policy["alert_thresholds_days"]):
        default = (
            DEFAULT_SEVERITY_MAP.get(days, SeverityTier.INFORMATIONAL)
            if isinstance(days, int)
            else SeverityTier.INFORMATIONAL
        )
        tier = severity.get(str(days)) or default
        channels = matrix.get(str(tier), ())
        shown = f"{days} d" if isinstance(days, int) else f"{days} of validity"
        table.add_row(shown, str(tier), ", ".join(channels) or render.DASH)
    return table


def escalation_line(policy: Policy) -> str:
    """`after 30 min to PagerDuty, OpsGenie`, or a dash when the policy does not escalate."""
    minutes = policy.get("escalation_after_minutes")
    if minutes is None:
        return render.DASH
    return f"after {minutes} min to {', '.join(policy.get('escalation_channels', []))}"


def policy_details(policy: Policy, at: datetime) -> Group:
    """The policy's fields, then its alert matrix."""
    rows: list[tuple[str, RenderableType]] = [
        ("ID", policy["id"]),
        ("Name", policy["name"]),
        ("Description", render.text(policy["description"])),
        ("Renewal window", f"{policy['renewal_window_days']} d"),
        ("Auto-renew", "yes" if policy["auto_renew"] else "no"),
        ("Max retries", str(policy["max_retries"])),
        ("Retry interval", f"{policy['retry_interval_seconds']} s"),
        ("Profile", render.text(policy["certificate_profile_id"])),
        ("Agent group", render.text(policy["agent_group_id"])),
        ("Escalation", escalation_line(policy)),
        ("Updated", render.stamp(policy["updated_at"], at)),
    ]
    return Group(render.details(f"Renewal policy {policy['id']}", rows), matrix_table(policy))


@app.command("list")
def list_policies(
    q: Annotated[str | None, typer.Option("--q", help="Substring of the name.")] = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List renewal policies."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(options, lambda c: c.list_policies(q=q, page=page, per_page=per_page))
    render.emit_page(options, found, lambda: policy_table(found))


@app.command("get")
def get_policy(
    policy_id: PolicyId,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Show one renewal policy and its alert matrix."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    policy = call(options, lambda c: c.get_policy(policy_id))
    render.emit(options, policy, lambda: policy_details(policy, now()))


def _pair(value: str, option: str, shape: str) -> tuple[str, str]:
    key, sep, rest = value.partition("=")
    if not sep or not key.strip():
        fail(f"{option} expects {shape}, got {value!r}", code=2)
    return key.strip(), rest.strip()


def matrix_from_options(thresholds: Sequence[str], channels: Sequence[str]) -> dict[str, Any]:
    """The PATCH fields for ``--threshold DAYS=TIER`` and ``--channel TIER=A,B`` options."""
    changes: dict[str, Any] = {}
    if thresholds:
        severity: dict[str, str] = {}
        for value in thresholds:
            days, tier = _pair(value, "--threshold", "DAYS=TIER, e.g. 7=critical")
            if not (days.isdigit() or percent_of(days) is not None) or not tier:
                fail(f"--threshold expects DAYS=TIER, e.g. 7=critical, got {value!r}", code=2)
            key = str(int(days)) if days.isdigit() else days
            if key in severity:
                fail(f"--threshold {key} is given twice", code=2)
            severity[key] = tier
        changes["alert_thresholds_days"] = list(order([key_of(d) for d in severity]))
        changes["alert_severity_map"] = severity
    if channels:
        matrix: dict[str, list[str]] = {}
        for value in channels:
            tier, names = _pair(value, "--channel", "TIER=CHANNEL[,CHANNEL…], e.g. critical=Email")
            if tier in matrix:
                fail(f"--channel {tier} is given twice", code=2)
            matrix[tier] = [n.strip() for n in names.split(",") if n.strip()]
        changes["alert_channels"] = matrix
    return changes


def matrix_from_file(path: Path) -> dict[str, Any]:
    """The PATCH fields from a JSON file holding any of the three matrix fields."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"cannot read {path}: {exc}", code=2)
    if not isinstance(loaded, dict) or not loaded or set(loaded) - set(MATRIX_FIELDS):
        fail(f"{path} must be a JSON object with any of: {', '.join(MATRIX_FIELDS)}", code=2)
    return loaded


@app.command("set-matrix")
def set_matrix(
    policy_id: PolicyId,
    threshold: Annotated[
        list[str] | None,
        typer.Option(help="DAYS=TIER, e.g. 7=critical (repeat; replaces the thresholds)."),
    ] = None,
    channel: Annotated[
        list[str] | None,
        typer.Option(help="TIER=CHANNEL[,CHANNEL…], e.g. critical=PagerDuty,Email (repeat)."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", exists=True, dir_okay=False, help="JSON with the matrix fields instead."
        ),
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Set a policy's alert thresholds, their tiers and each tier's channels."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    if file is not None and (threshold or channel):
        fail("give --file or --threshold/--channel, not both", code=2)
    changes = (
        matrix_from_file(file)
        if file is not None
        else matrix_from_options(threshold or [], channel or [])
    )
    if not changes:
        fail("nothing to set: give --threshold, --channel or --file", code=2)
    policy = call(options, lambda c: c.update_policy(policy_id, changes))
    render.emit(options, policy, lambda: policy_details(policy, now()))
