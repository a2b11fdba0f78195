"""`certctl jobs …`: list and show jobs, approve, reject or cancel them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
from certctl.client.models import Job, Page

app = typer.Typer(help="Issuance, renewal and deployment jobs.", no_args_is_help=True)

JobId = Annotated[str, typer.Argument(help="Job id.", show_default=False)]
OptionalReason = Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")]


def job_table(page: Page[Job], at: datetime) -> Table:
    """Jobs as rows."""
    table = render.listing(
        "Jobs",
        ["ID", "Type", "Certificate", "Status", "Tries", "Updated"],
        whole=("ID", "Certificate"),
        drop=("Updated", "Certificate", "Tries", "Type"),
    )
    for job in page["data"]:
        table.add_row(
            job["id"],
            job["type"],
            job["certificate_id"],
            render.status(job["status"], render.JOB_STYLES),
            f"{job['attempts']}/{job['max_attempts']}",
            render.relative(job["updated_at"], at),
        )
    return table


def job_details(job: Job, at: datetime, *, title: str = "Job") -> Table:
    """Every field of one job."""
    rows: list[tuple[str, RenderableType]] = [
        ("ID", job["id"]),
        ("Type", job["type"]),
        ("Certificate", job["certificate_id"]),
        ("Status", render.status(job["status"], render.JOB_STYLES)),
        ("Attempts", f"{job['attempts']}/{job['max_attempts']}"),
        ("Last error", render.text(job["last_error"])),
        ("Target", render.text(job["target_id"])),
        ("Agent", render.text(job["agent_id"])),
        ("Requested by", render.text(job["requested_by"])),
        ("Approved by", render.text(job["approved_by"])),
        ("Decision reason", render.text(job["decision_reason"])),
        ("Scheduled", render.stamp(job["scheduled_at"], at)),
        ("Started", render.stamp(job["started_at"], at)),
        ("Completed", render.stamp(job["completed_at"], at)),
        ("Created", render.stamp(job["created_at"], at)),
        ("Updated", render.stamp(job["updated_at"], at)),
    ]
    return render.details(f"{title} {job['id']}", rows)


@app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="Pending, AwaitingApproval, …")] = None,
    job_type: Annotated[
        str | None, typer.Option("--type", help="Issuance, Renewal, Deployment or Validation.")
    ] = None,
    certificate: Annotated[str | None, typer.Option(help="Certificate id.")] = None,
    sort: Annotated[str | None, typer.Option(help="Field, '-' prefix for descending.")] = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List jobs."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(
        options,
        lambda c: c.list_jobs(
            status=status,
            job_type=job_type,
            certificate_id=certificate,
            sort=sort,
            page=page,
            per_page=per_page,
        ),
    )
    render.emit_page(options, found, lambda: job_table(found, now()))


def _show(options: ClientOptions, work: Callable[[CertctlClient], Awaitable[Job]]) -> None:
    job = call(options, work)
    render.emit(options, job, lambda: job_details(job, now()))


@app.command("get")
def get_job(
    job_id: JobId,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Show one job."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    _show(options, lambda c: c.get_job(job_id))


@app.command("approve")
def approve_job(
    job_id: JobId,
    reason: OptionalReason = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Approve a job that awaits approval."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    _show(options, lambda c: c.approve_job(job_id, reason=reason))


@app.command("reject")
def reject_job(
    job_id: JobId,
    reason: Annotated[str, typer.Option(help="Why (required, kept in the audit trail).")],
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Reject a job that awaits approval."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    _show(options, lambda c: c.reject_job(job_id, reason=reason))


@app.command("cancel")
def cancel_job(
    job_id: JobId,
    reason: OptionalReason = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Cancel an open job."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    _show(options, lambda c: c.cancel_job(job_id, reason=reason))
