"""Bulk revoke and renew: confirm, call once with a spinner, print the summary."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import typer
from rich.table import Table
from rich.text import Text

from certctl.cli.client_cmds import render
from certctl.cli.client_cmds.session import ClientOptions, call, err, fail, out
from certctl.client import CertctlClient, CertificateCriteria
from certctl.client.models import BulkResult


def describe(ids: tuple[str, ...], criteria: CertificateCriteria) -> str:
    """The selection in words: ``certificates with id a, b; environment=prod``."""
    parts = [f"id {', '.join(ids)}"] if ids else []
    parts += [f"{name}={value}" for name, value in criteria.body().items()]
    return "certificates with " + "; ".join(parts)


def run_bulk(
    options: ClientOptions,
    *,
    verb: str,
    ids: tuple[str, ...],
    criteria: CertificateCriteria,
    confirmed: bool,
    action: Callable[[CertctlClient], Awaitable[BulkResult]],
) -> None:
    """Check the selection, confirm, run ``action`` and print its summary."""
    try:
        criteria.body()
    except ValueError as exc:
        fail(str(exc), code=2)
    if not ids and criteria.is_empty:
        fail("choose certificates with --id or at least one filter", code=2)
    selection = describe(ids, criteria)
    if not confirmed and not typer.confirm(f"{verb.capitalize()} {selection}?"):
        fail("cancelled, nothing changed")
    with err.status(f"{verb.capitalize()}: {selection}…"):
        result = call(options, action)
    if options.json:
        render.print_json(result)
    else:
        out.print(summary_table(result, verb))
        if result["errors"]:
            out.print(errors_table(result))
    if result["total_failed"]:
        fail(f"{result['total_failed']} of {result['total_matched']} certificates failed")


def summary_table(result: BulkResult, verb: str) -> Table:
    """Matched, done, skipped and failed counts."""
    done = "Revoked" if verb == "revoke" else "Enqueued"
    table = render.listing(f"Bulk {verb}", ["Matched", done, "Skipped", "Failed"])
    failed = str(result["total_failed"])
    table.add_row(
        str(result["total_matched"]),
        str(result["total_enqueued"]),
        str(result["total_skipped"]),
        Text(failed, style="red" if result["total_failed"] else ""),
    )
    return table


def errors_table(result: BulkResult) -> Table:
    """One row per certificate that failed."""
    table = render.listing("Failures", ["Certificate", "Detail"], whole=("Certificate",))
    for problem in result["errors"]:
        table.add_row(problem["certificate_id"], problem["detail"])
    return table
