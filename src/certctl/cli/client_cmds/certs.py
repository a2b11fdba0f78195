"""`certctl certs …`: list, show, import, renew, deploy and revoke certificates, one or in bulk."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.table import Table

from certctl.cli.client_cmds import render
from certctl.cli.client_cmds.bulk import run_bulk
from certctl.cli.client_cmds.importing import import_paths
from certctl.cli.client_cmds.jobs import job_details, job_table
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
from certctl.client import CertificateCriteria
from certctl.client.models import (
    AlertRoute,
    Certificate,
    EffectiveRoute,
    Job,
    Page,
    RenewalInfo,
    Version,
)

app = typer.Typer(help="Managed certificates.", no_args_is_help=True)

CertId = Annotated[str, typer.Argument(help="Certificate id.", show_default=False)]
StatusOpt = Annotated[
    list[str] | None, typer.Option("--status", help="Status (repeat for several).")
]
EnvironmentOpt = Annotated[str | None, typer.Option(help="Environment, e.g. prod.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Owner id.")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="Team id.")]
IssuerOpt = Annotated[str | None, typer.Option("--issuer", help="Issuer id.")]
SearchOpt = Annotated[str | None, typer.Option("--q", help="Substring of name or common name.")]
IdsOpt = Annotated[
    list[str] | None, typer.Option("--id", help="Certificate id (repeat for several).")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
PageOpt = Annotated[int, typer.Option(min=1, help="Page number.")]
PerPageOpt = Annotated[int, typer.Option(min=1, max=500, help="Items per page.")]
_DAYS = re.compile(r"^(\d+)d$")


def moment(value: str, option: str) -> datetime:
    """``30d`` (from now) or an ISO 8601 date or time (UTC unless it says otherwise)."""
    if match := _DAYS.fullmatch(value.strip()):
        return now() + timedelta(days=int(match.group(1)))
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} expects an ISO 8601 date or time, or Nd (days from now)", code=2)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("list")
def list_certificates(
    status: StatusOpt = None,
    environment: EnvironmentOpt = None,
    owner: OwnerOpt = None,
    team: TeamOpt = None,
    issuer: IssuerOpt = None,
    q: SearchOpt = None,
    expires_before: Annotated[
        str | None, typer.Option(help="ISO 8601 date or time, or Nd (days from now).")
    ] = None,
    expires_within: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=3650,
            help="Expiring within N days, whatever the status (revoked and archived aside).",
        ),
    ] = None,
    sort: Annotated[str | None, typer.Option(help="Field, '-' prefix for descending.")] = None,
    page: PageOpt = 1,
    per_page: PerPageOpt = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List certificates with filters, sorting and paging."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    criteria = CertificateCriteria(
        statuses=tuple(status or ()),
        environment=environment,
        owner_id=owner,
        team_id=team,
        issuer_id=issuer,
        q=q,
        expires_before=moment(expires_before, "--expires-before") if expires_before else None,
        expires_within_days=expires_within,
    )
    found = call(
        options,
        lambda c: c.list_certificates(criteria, sort=sort, page=page, per_page=per_page),
    )
    render.emit_page(options, found, lambda: certificate_table(found, now()))


def certificate_table(page: Page[Certificate], at: datetime) -> Table:
    """Certificates as rows: id, name, status, environment, expiry."""
    table = render.listing(
        "Certificates",
        ["ID", "Name", "Status", "Environment", "Expires", "Expiry date"],
        drop=("Expiry date", "Environment", "Name"),
    )
    for cert in page["data"]:
        table.add_row(
            cert["id"],
            cert["name"],
            render.status(cert["status"], render.CERTIFICATE_STYLES),
            render.text(cert["environment"]),
            render.expiry(cert["expires_at"], at),
            render.day(cert["expires_at"]),
        )
    return table


def certificate_details(cert: Certificate, at: datetime) -> Table:
    """Every field of one certificate."""
    revoked = render.DASH
    if cert["revoked_at"]:
        revoked = f"{render.stamp(cert['revoked_at'], at)}, {cert['revocation_reason']}"
    rows: list[tuple[str, RenderableType]] = [
        ("ID", cert["id"]),
        ("Name", cert["name"]),
        ("Common name", cert["common_name"]),
        ("SANs", render.text(cert["sans"])),
        ("Status", render.status(cert["status"], render.CERTIFICATE_STYLES)),
        ("Environment", render.text(cert["environment"])),
        ("Source", cert["source"]),
        ("Expires", render.stamp(cert["expires_at"], at)),
        ("Owner", render.text(cert["owner_id"])),
        ("Team", render.text(cert["team_id"])),
        ("Issuer", render.text(cert["issuer_id"])),
        ("Renewal policy", render.text(cert["renewal_policy_id"])),
        ("Profile", render.text(cert["certificate_profile_id"])),
        ("Targets", render.text(cert["target_ids"])),
        ("Tags", render.text(cert["tags"])),
        ("Last renewal", render.stamp(cert["last_renewal_at"], at)),
        ("Last deployment", render.stamp(cert["last_deployment_at"], at)),
        ("Revoked", revoked),
        ("Created", render.stamp(cert["created_at"], at)),
        ("Updated", render.stamp(cert["updated_at"], at)),
        *renewal_info_rows(cert.get("renewal_info"), at),
    ]
    return render.details(f"Certificate {cert['id']}", rows)


def renewal_info_rows(info: RenewalInfo | None, at: datetime) -> list[tuple[str, RenderableType]]:
    """The ACME CA's suggested renewal window (RFC 9773), when it was asked."""
    if info is None:
        return []
    window = render.DASH
    if info["window_start"] and info["window_end"]:
        window = (
            f"{render.stamp(info['window_start'], at)} to {render.stamp(info['window_end'], at)}"
        )
    return [
        ("ARI window", window),
        ("ARI explanation", render.text(info["explanation_url"])),
        ("ARI renew at", render.stamp(info["renew_at"], at)),
        ("ARI next check", render.stamp(info["next_check_at"], at)),
        ("ARI last error", render.text(info["ari_last_error"])),
    ]


@app.command("get")
def get_certificate(
    cert_id: CertId,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Show one certificate."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    cert = call(options, lambda c: c.get_certificate(cert_id))
    render.emit(options, cert, lambda: certificate_details(cert, now()))


def route_table(route: AlertRoute) -> Table:
    """One row per threshold and channel: tier, recipient, configured, why skipped."""
    table = render.listing(
        f"Alert route of {route['certificate_id']} ({route['policy_name']})",
        ["Threshold", "Tier", "Channel", "Recipient", "Configured", "Skipped because"],
        whole=(),
    )
    for row in route["thresholds"]:
        if not row["channels"]:
            table.add_row(
                f"T-{row['threshold_days']}",
                row["tier"],
                render.DASH,
                "",
                "",
                "no channel for this tier (opted out)",
            )
        for step in row["channels"]:
            table.add_row(
                f"T-{row['threshold_days']}",
                row["tier"],
                step["channel"],
                render.text(step["recipient"]),
                step["source"] or "no",
                step["skipped_because"] or render.DASH,
            )
    return table


def why_table(route: EffectiveRoute) -> Table:
    """Per tier, each channel's destination and what decides it (an override or the matrix)."""
    table = render.listing(
        "Who gets paged, and why",
        ["Tier", "Thresholds", "Channel", "Destination", "Decided by", "Why"],
        drop=("Thresholds", "Why"),
    )
    for tier in route["tiers"]:
        thresholds = ", ".join(f"T-{t}" for t in tier["thresholds"]) or render.DASH
        if not tier["channels"]:
            table.add_row(
                tier["tier"], thresholds, render.DASH, render.DASH, "matrix", "no channel"
            )
        for channel in tier["channels"]:
            table.add_row(
                tier["tier"],
                thresholds,
                channel["channel"],
                render.text(channel["destination"]),
                channel["decided_by"],
                channel["why"],
            )
    return table


@app.command("route")
def alert_route(
    cert_id: CertId,
    why: Annotated[
        bool,
        typer.Option(
            "--why", help="Per tier: each channel's destination and the override or matrix cell."
        ),
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Show who the expiry alerts of a certificate reach, and which cells would be skipped."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    if why:
        effective = call(options, lambda c: c.get_effective_route(cert_id))
        render.emit(options, effective, lambda: why_table(effective))
        return
    route = call(options, lambda c: c.get_alert_route(cert_id))
    render.emit(options, route, lambda: route_table(route))


def version_table(page: Page[Version]) -> Table:
    """Issued versions as rows, newest first."""
    table = render.listing(
        "Versions",
        ["ID", "Serial", "Not before", "Not after", "Key"],
        whole=("ID",),
        drop=("Not before", "Key", "Serial"),
    )
    for version in page["data"]:
        table.add_row(
            version["id"],
            version["serial_number"],
            render.day(version["not_before"]),
            render.day(version["not_after"]),
            f"{version['key_algorithm']} {version['key_size']}",
        )
    return table


@app.command("versions")
def list_versions(
    cert_id: CertId,
    page: PageOpt = 1,
    per_page: PerPageOpt = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """List a certificate's issued versions, newest first."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    found = call(options, lambda c: c.list_versions(cert_id, page=page, per_page=per_page))
    render.emit_page(options, found, lambda: version_table(found))


@app.command("import")
def import_certificates(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            help="A PEM file, or a folder searched recursively: certbot live/<name>/ and "
            "acme.sh <domain>/ folders, and loose *.pem, *.crt and *.cer files. Private keys "
            "are never read.",
        ),
    ],
    environment: EnvironmentOpt = None,
    owner: OwnerOpt = None,
    team: TeamOpt = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Renewal policy id.")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Import certificates (leaf first, then its chain) from a file or a folder tree."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    fields = {
        "environment": environment,
        "owner_id": owner,
        "team_id": team,
        "renewal_policy_id": policy,
    }
    import_paths(options, path, fields)


@app.command("renew")
def renew_certificate(
    cert_id: CertId,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Queue a renewal job for one certificate now."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    job = call(options, lambda c: c.renew_certificate(cert_id))
    render.emit(options, job, lambda: job_details(job, now(), title="Renewal queued"))


@app.command("deploy")
def deploy_certificate(
    cert_id: CertId,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Deploy the current version again: one job per enabled target, for its agent."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    queued = call(options, lambda c: c.deploy_certificate(cert_id))
    jobs = queued["jobs"]
    page: Page[Job] = {"data": jobs, "total": len(jobs), "page": 1, "per_page": max(1, len(jobs))}
    render.emit(options, queued, lambda: job_table(page, now()))


@app.command("revoke")
def revoke_certificate(
    cert_id: CertId,
    reason: Annotated[
        str, typer.Option(help="RFC 5280 reason: keyCompromise, superseded, … or unspecified.")
    ],
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Revoke one certificate."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    cert = call(options, lambda c: c.revoke_certificate(cert_id, reason=reason))
    render.emit(options, cert, lambda: certificate_details(cert, now()))


def _criteria(
    status: list[str] | None,
    environment: str | None,
    owner: str | None,
    team: str | None,
    issuer: str | None,
    q: str | None,
) -> CertificateCriteria:
    return CertificateCriteria(
        statuses=tuple(status or ()),
        environment=environment,
        owner_id=owner,
        team_id=team,
        issuer_id=issuer,
        q=q,
    )


@app.command("bulk-revoke")
def bulk_revoke(
    reason: Annotated[str, typer.Option(help="RFC 5280 reason for every certificate.")],
    ids: IdsOpt = None,
    status: StatusOpt = None,
    environment: EnvironmentOpt = None,
    owner: OwnerOpt = None,
    team: TeamOpt = None,
    issuer: IssuerOpt = None,
    q: SearchOpt = None,
    yes: YesOpt = False,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Revoke every listed (--id) or matching certificate (admin)."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    criteria = _criteria(status, environment, owner, team, issuer, q)
    run_bulk(
        options,
        verb="revoke",
        ids=tuple(ids or ()),
        criteria=criteria,
        confirmed=yes,
        action=lambda c: c.bulk_revoke(
            reason=reason, certificate_ids=tuple(ids or ()), criteria=criteria
        ),
    )


@app.command("bulk-renew")
def bulk_renew(
    ids: IdsOpt = None,
    status: StatusOpt = None,
    environment: EnvironmentOpt = None,
    owner: OwnerOpt = None,
    team: TeamOpt = None,
    issuer: IssuerOpt = None,
    q: SearchOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TABLE,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Queue renewal of every listed (--id) or matching certificate."""
    options = ClientOptions(server, api_key, output, ca_bundle)
    criteria = _criteria(status, environment, owner, team, issuer, q)
    run_bulk(
        options,
        verb="renew",
        ids=tuple(ids or ()),
        criteria=criteria,
        confirmed=True,
        action=lambda c: c.bulk_renew(certificate_ids=tuple(ids or ()), criteria=criteria),
    )
