"""`certctl discovery …` and `certctl drift list`: triage found certificates, scan, see drift."""

from __future__ import annotations

import asyncio
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
from certctl.client import CertctlClient
from certctl.client.models import Discovery, DiscoveryScan, DiscoverySummary, Drift, Page

app = typer.Typer(help="Certificates found on hosts and endpoints (C8).", no_args_is_help=True)
drift_app = typer.Typer(help="Endpoints serving something other than the current version.")

DiscoveryId = Annotated[str, typer.Argument(help="Discovery id.", show_default=False)]
STYLES = {"Unmanaged": "yellow", "Claimed": "green", "Dismissed": "dim"}
FINISHED = frozenset({"Completed", "Failed"})


def discovery_table(page: Page[Discovery], at: datetime) -> Table:
    """Discoveries as rows."""
    table = render.listing(
        "Discoveries",
        ["ID", "Status", "Common name", "Where", "Expires"],
        whole=("ID",),
        drop=("Where",),
    )
    for item in page["data"]:
        table.add_row(
            item["id"],
            render.status(item["status"], STYLES),
            item["common_name"] or "-",
            item["location"],
            render.expiry(item["not_after"], at),
        )
    return table


def discovery_details(item: Discovery, at: datetime) -> Table:
    """Every fact of one discovery."""
    rows: list[tuple[str, RenderableType]] = [
        ("ID", item["id"]),
        ("Status", render.status(item["status"], STYLES)),
        ("Source", item["source"]),
        ("Where", item["location"]),
        ("Agent", render.text(item.get("agent_id"))),
        ("Scan", render.text(item.get("scan_id"))),
        ("Common name", item["common_name"] or "-"),
        ("SANs", ", ".join(item["sans"]) or "-"),
        ("Issuer", item["issuer_dn"]),
        ("Serial", item["serial_number"]),
        ("SHA-256", item["fingerprint_sha256"]),
        ("Key", f"{item['key_algorithm']} {item['key_size']}"),
        ("Expires", render.expiry(item["not_after"], at)),
        ("Managed as", render.text(item.get("managed_certificate_id"))),
        ("Dismissed because", render.text(item.get("dismissed_reason"))),
        ("Last seen", render.stamp(item["last_seen_at"], at)),
    ]
    return render.details(f"Discovery {item['id']}", rows)


def summary_table(summary: DiscoverySummary) -> Table:
    """Counts for triage."""
    rows = [(status, str(n)) for status, n in summary["by_status"].items()]
    rows += [
        ("Total", str(summary["total"])),
        ("Unmanaged, expiring within 30 days", str(summary["expiring_within_30_days"])),
        ("Unmanaged, expired", str(summary["expired"])),
    ]
    return render.details("Discovery summary", rows)


def scan_details(scan: DiscoveryScan, at: datetime) -> Table:
    """One scan and the endpoints it found."""
    rows = [
        ("ID", scan["id"]),
        ("Status", scan["status"]),
        ("CIDRs", ", ".join(scan["cidrs"])),
        ("Ports", ", ".join(str(p) for p in scan["ports"])),
        ("Probed", str(scan["probed"])),
        ("Endpoints found", str(scan["endpoints_found"])),
        ("New certificates", str(scan["certificates_found"])),
        ("Started", render.stamp(scan["started_at"], at)),
    ]
    rows += [
        ("Endpoint", f"{e['host']}:{e['port']} {e['leaf_fingerprint_sha256'][:16]}")
        for e in scan.get("endpoints", [])
    ]
    return render.details(f"Scan {scan['id']}", rows)


@app.command("list")
def list_discoveries(
    status: Annotated[str | None, typer.Option(help="Unmanaged, Claimed or Dismissed.")] = None,
    source: Annotated[str | None, typer.Option(help="filesystem or network.")] = None,
    agent: Annotated[str | None, typer.Option(help="Agent id.")] = None,
    scan: Annotated[str | None, typer.Option(help="Scan id.")] = None,
    q: Annotated[str | None, typer.Option(help="Text in CN, place or fingerprint.")] = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List discovered certificates, soonest expiry first."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(
        options,
        lambda c: c.list_discoveries(
            status=status,
            source=source,
            agent_id=agent,
            scan_id=scan,
            q=q,
            page=page,
            per_page=per_page,
        ),
    )
    render.emit_page(options, found, lambda: discovery_table(found, now()))


@app.command("show")
def show_discovery(
    discovery_id: DiscoveryId,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Show one discovery."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    item = call(options, lambda c: c.get_discovery(discovery_id))
    render.emit(options, item, lambda: discovery_details(item, now()))


@app.command("claim")
def claim_discovery(
    discovery_id: DiscoveryId,
    name: Annotated[str | None, typer.Option(help="Name of the managed certificate.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner id.")] = None,
    team: Annotated[str | None, typer.Option(help="Team id.")] = None,
    policy: Annotated[str | None, typer.Option(help="Renewal policy id.")] = None,
    environment: Annotated[str | None, typer.Option(help="Environment.")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Bring a discovered certificate under management."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    fields = {
        "name": name,
        "owner_id": owner,
        "team_id": team,
        "renewal_policy_id": policy,
        "environment": environment,
    }
    claimed = call(options, lambda c: c.claim_discovery(discovery_id, fields))
    cert = claimed["certificate"]
    render.emit(
        options,
        claimed,
        lambda: f"claimed: certificate {cert['id']} ({cert['status']})",
    )


@app.command("dismiss")
def dismiss_discovery(
    discovery_id: DiscoveryId,
    reason: Annotated[str, typer.Option(help="Why it is not to be managed.")],
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Dismiss a discovered certificate, with the reason."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    item = call(options, lambda c: c.dismiss_discovery(discovery_id, reason=reason))
    render.emit(options, item, lambda: f"dismissed {discovery_id}")


@app.command("summary")
def discovery_summary(
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Counts by status, and unmanaged certificates expiring soon."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    summary = call(options, lambda c: c.discovery_summary())
    render.emit(options, summary, lambda: summary_table(summary))


@app.command("scan")
def scan(
    cidrs: Annotated[list[str], typer.Argument(help="CIDRs or addresses (at most a /20 each).")],
    port: Annotated[
        list[int] | None, typer.Option("--port", "-p", help="Port to probe (repeat; 443).")
    ] = None,
    server_name: Annotated[str | None, typer.Option(help="SNI name to send.")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the result (0: do not).")] = 60,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Scan address ranges for TLS endpoints and record the certificates they serve."""
    options = ClientOptions(server, api_key, output, ca_bundle)

    async def run(client: CertctlClient) -> DiscoveryScan:
        ports = port or [443]
        started = await client.start_discovery_scan(cidrs, ports, server_name=server_name)
        return await _wait(client, started, wait)

    result = call(options, run)
    render.emit(options, result, lambda: scan_details(result, now()))


async def _wait(client: CertctlClient, scan: DiscoveryScan, seconds: float) -> DiscoveryScan:
    """Poll the scan until it finishes or `seconds` pass (a real scan takes real time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while scan["status"] not in FINISHED and loop.time() < deadline:
        await asyncio.sleep(0.5)
        scan = await client.get_discovery_scan(scan["id"])
    return scan


def drift_table(found: list[Drift], at: datetime) -> Table:
    """Open drifts as rows."""
    table = render.listing(
        "Drift",
        ["Certificate", "Target", "Endpoint", "Kind", "Since"],
        whole=("Certificate", "Target"),
        drop=("Since", "Endpoint"),
    )
    for item in found:
        table.add_row(
            item["certificate_id"],
            item["target_id"],
            item["endpoint"],
            item["kind"],
            render.relative(item["detected_at"], at),
        )
    return table


@drift_app.command("list")
def list_drift(
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Endpoints that serve an older version (stale) or another certificate (foreign)."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(options, lambda c: c.list_drift())
    render.emit(options, found, lambda: drift_table(found, now()) if found else "no drift")
