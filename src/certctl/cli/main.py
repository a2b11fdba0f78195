"""`certctl` entry point: serve, demo, db upgrade/backup/restore, apikey create, user create, version."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from certctl import __version__
from certctl.cli import agent_cmd, client_cmds
from certctl.cli.client_cmds import audit as audit_cmds
from certctl.domain.access import SYSTEM_CALLER, Role
from certctl.errors import CertctlError
from certctl.logconfig import configure_logging
from certctl.settings import CONFIG_FILE_VARIABLE, Settings, load_settings

app = typer.Typer(help="certctl: certificate lifecycle platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database administration.", no_args_is_help=True)
apikey_app = typer.Typer(help="Stored API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")
user_app = typer.Typer(help="Dashboard users.", no_args_is_help=True)
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace what is already there.")]
app.add_typer(user_app, name="user")

err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)
out = Console(soft_wrap=True, emoji=False, highlight=False)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except CertctlError as exc:
        err.print(f"error: {exc.detail}", style="red", markup=False)
        raise typer.Exit(2) from exc


def _print_version(value: bool) -> None:
    if value:
        out.print(__version__)
        raise typer.Exit


@app.callback()
def root(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML settings file (CERTCTL_CONFIG_FILE); CERTCTL_* variables override it.",
            dir_okay=False,
        ),
    ] = None,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the certctl version and exit.",
        ),
    ] = False,
) -> None:
    """certctl: certificate lifecycle platform."""
    if config is not None:
        # Through the environment, so that server workers read the same file.
        os.environ[CONFIG_FILE_VARIABLE] = str(config.resolve())


@config_app.command("check")
def config_check() -> None:
    """Validate the settings (file and environment) without starting anything: exit 0 or 2."""
    settings = _settings()
    _refuse_plain_http(settings)
    source = os.environ.get(CONFIG_FILE_VARIABLE)
    where = f" (file {source} and environment)" if source else " (environment)"
    out.print(f"configuration is valid{where}", markup=False)


@app.command()
def version() -> None:
    """Print the certctl version."""
    out.print(__version__)


@app.command()
def serve() -> None:
    """Run the server (API, docs, metrics) configured by CERTCTL_* variables."""
    from certctl.cli import server

    settings = _settings()
    _refuse_plain_http(settings)
    asyncio.run(server.migrate_only(settings))
    server.run(settings)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """Serve the demo estate with a demo admin key (SQLite under CERTCTL_DATA_DIR unless CERTCTL_DATABASE_URL is set); never for production."""
    from certctl.cli import server

    data_dir = Path(os.environ.get("CERTCTL_DATA_DIR", "./var"))
    data_dir.mkdir(parents=True, exist_ok=True)
    demo_key = _demo_secret(data_dir / "demo-admin.key")
    extra = os.environ.get("CERTCTL_API_KEYS_NAMED", "")
    demo_env = {
        "CERTCTL_DEMO_MODE_ACK": "true",
        "CERTCTL_API_KEYS_NAMED": ",".join(filter(None, [f"demo-admin:{demo_key}:admin", extra])),
    }
    if host:
        demo_env["CERTCTL_SERVER_HOST"] = host
    if port:
        demo_env["CERTCTL_SERVER_PORT"] = str(port)
    if not os.environ.get("CERTCTL_DATABASE_URL"):
        demo_env["CERTCTL_DATABASE_URL"] = f"sqlite+aiosqlite:///{data_dir / 'certctl.db'}"
    if not os.environ.get("CERTCTL_KEYGEN_MODE"):
        # Renewals complete without an agent: the demo server makes the keys itself.
        demo_env["CERTCTL_KEYGEN_MODE"] = "server"
    if not os.environ.get("CERTCTL_CONFIG_ENCRYPTION_KEY"):
        demo_env["CERTCTL_CONFIG_ENCRYPTION_KEY"] = _demo_secret(data_dir / "demo-encryption.key")
    # Written to the environment (not only passed on) so that every server worker, which
    # rebuilds its settings from the environment, runs with the same demo configuration.
    os.environ.update(demo_env)
    settings = _settings()
    _refuse_plain_http(settings)
    created = asyncio.run(server.migrate_and_seed(settings))
    scheme = "https" if settings.tls_enabled else "http"
    url = f"{scheme}://{settings.server_host}:{settings.server_port}"
    out.print(
        f"[bold]certctl demo[/bold] — {created} demo certificates created"
        if created
        else "[bold]certctl demo[/bold] — demo estate already present"
    )
    out.print(f"  Dashboard:     {url}/  (sign in with the admin API key)")
    out.print(f"  API docs:      {url}/docs")
    out.print(f"  API:           {url}/api/v1")
    out.print(f"  Admin API key: [bold]{demo_key}[/bold]")
    out.print(
        f"  Try:           curl -H 'Authorization: Bearer {demo_key}' '{url}/api/v1/certificates?status=Expiring&sort=expires_at'"
    )
    server.run(settings)


def _refuse_plain_http(settings: Settings) -> None:
    """Exit 2 before binding plain HTTP beyond loopback without a stated TLS proxy (C10)."""
    refusal = settings.plain_http_refusal()
    if refusal is not None:
        err.print(f"error: {refusal}", style="red", markup=False)
        raise typer.Exit(2)


def _demo_secret(path: Path) -> str:
    """Read or create a random secret kept in the data directory (mode 0600)."""
    if path.exists():
        return path.read_text().strip()
    value = "demo_" + secrets.token_urlsafe(24)
    path.write_text(value + "\n")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return value


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (safe to run again)."""
    from certctl.cli import server

    settings = _settings()
    asyncio.run(server.migrate_only(settings))
    out.print("database is at the newest schema")


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="File to write the backup to.")],
    force: ForceOpt = False,
) -> None:
    """Back up the database while the server runs (SQLite online backup; pg_dump for
    PostgreSQL). Keep CERTCTL_CONFIG_ENCRYPTION_KEY beside the backup."""
    from certctl.cli import database

    settings = _settings()
    try:
        database.backup(settings, path, force=force)
    except CertctlError as exc:
        err.print(f"error: {exc.detail}", style="red", markup=False)
        raise typer.Exit(1) from exc


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="Backup file written by `certctl db backup`.")],
    force: ForceOpt = False,
) -> None:
    """Restore a backup into the configured database, which must be empty unless --force
    (stop every server using it first)."""
    from certctl.cli import database

    settings = _settings()
    try:
        database.restore(settings, path, force=force)
    except CertctlError as exc:
        err.print(f"error: {exc.detail}", style="red", markup=False)
        raise typer.Exit(1) from exc


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Unique key name; it is the audit actor.")],
    role: Annotated[
        Role, typer.Option(help="admin, operator, viewer, agent or auditor.")
    ] = Role.OPERATOR,
) -> None:
    """Create a stored API key and print it once."""
    from certctl.cli import server

    settings = _settings()
    try:
        secret = asyncio.run(server.create_key(settings, name=name, role=role))
    except CertctlError as exc:
        err.print(f"error: {exc.detail}", style="red", markup=False)
        raise typer.Exit(1) from exc
    err.print(f"API key {name!r} ({role.value}) created; it is shown only once:")
    typer.echo(secret)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Sign-in name: a-z, 0-9, '.', '_', '@', '-'.")],
    role: Annotated[Role, typer.Option(help="admin, operator, viewer or auditor.")] = Role.VIEWER,
) -> None:
    """Create a dashboard user; the password comes from a hidden prompt, or from the first line
    of standard input when that is not a terminal."""
    settings = _settings()
    password = _read_password()
    try:
        asyncio.run(_create_user(settings, username=username, password=password, role=role))
    except CertctlError as exc:
        err.print(f"error: {exc.detail}", style="red", markup=False)
        raise typer.Exit(1) from exc
    err.print(f"dashboard user {username!r} ({role.value}) created")


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


async def _create_user(settings: Settings, *, username: str, password: str, role: Role) -> None:
    from certctl.bootstrap import build_context
    from certctl.cli import server

    await server.migrate_only(settings)
    ctx = build_context(settings)
    try:
        await ctx.users.create(SYSTEM_CALLER, username=username, password=password, role=role)
    finally:
        await ctx.aclose()


# Server-side modules (the API, the database layer) load only in the commands that use them,
# so that client commands such as `certctl certs list` start quickly.
client_cmds.register(app)
agent_cmd.register(app)


@audit_cmds.app.command("verify")
def audit_verify(
    output: Annotated[
        str, typer.Option("--output", help="table, or json.", case_sensitive=False)
    ] = "table",
) -> None:
    """Recompute the audit hash chain on the configured database (exit 1 at a broken link)."""
    from certctl.cli import server

    settings = _settings()
    configure_logging(level="warning", fmt=settings.log_format)
    try:
        report = asyncio.run(server.verify_audit(settings))
    except CertctlError as exc:
        err.print(f"error: {exc.detail}", style="red", markup=False)
        raise typer.Exit(2) from exc
    brk = report.first_break
    if output.lower() == "json":
        found = None if brk is None else {**dataclasses.asdict(brk), "kind": brk.kind.value}
        document = {
            "intact": report.intact,
            "rows_checked": report.rows_checked,
            "head_hash": report.head_hash,
            "first_break": found,
        }
        typer.echo(json.dumps(document, indent=2))
    elif brk is None:
        out.print(f"audit chain intact: {report.rows_checked} rows, head {report.head_hash}")
    else:
        err.print(f"audit chain BROKEN ({brk.kind.value}) at {brk.detail}", markup=False)
    if brk is not None:
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["SYSTEM_CALLER", "app", "main"]
