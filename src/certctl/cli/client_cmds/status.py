"""`certctl status`: the dashboard summary of the server."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

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
)
from certctl.client.models import Summary


def summary_view(summary: Summary, server: str) -> Group:
    """Headline counts, then certificates and jobs by status."""
    headline = render.details(
        "Summary",
        [
            ("Server", server),
            ("Certificates", str(summary["total_certificates"])),
            ("Expiring in 30 days", _warn(summary["expiring_in_30_days"], "yellow")),
            ("Agents online", f"{summary['agents_online']}/{summary['agents_total']}"),
            ("Dead notifications", _warn(summary["notifications_dead"], "red")),
        ],
    )
    parts: list[Table] = [headline]
    parts.append(
        _counts(
            "Certificates by status", summary["certificates_by_status"], render.CERTIFICATE_STYLES
        )
    )
    if summary.get("jobs_by_status"):
        parts.append(_counts("Jobs by status", summary["jobs_by_status"], render.JOB_STYLES))
    return Group(*parts)


def _warn(count: int, style: str) -> Text:
    return Text(str(count), style=style if count else "")


def _counts(title: str, counts: dict[str, int], styles: dict[str, str]) -> Table:
    table = render.listing(title, ["Status", "Count"])
    for name, count in counts.items():
        table.add_row(render.status(name, styles), str(count))
    return table


def status(
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Show the server's summary: certificates, expiring soon, agents, jobs, dead letters."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    summary = call(options, lambda c: c.summary())
    render.emit(options, summary, lambda: summary_view(summary, server))
