"""`certctl db backup` and `certctl db restore`: copies of the database, and where they go back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import typer
from rich.console import Console

from certctl.db.backup import (
    PostgresCommand,
    backup_sqlite,
    find_tool,
    pg_dump_command,
    pg_restore_command,
    restore_sqlite,
    sqlite_path,
)
from certctl.settings import Settings

err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)

KEY_WARNING = (
    "KEEP THE ENCRYPTION KEY WITH THIS BACKUP. Issuer and channel secrets and every CA private "
    "key in it are sealed with CERTCTL_CONFIG_ENCRYPTION_KEY, which is not in the database: "
    "without that key they are lost for good. Store the key beside the backup (as securely)."
)


def backup(settings: Settings, destination: Path, *, force: bool) -> None:
    """Back up the configured database to ``destination``."""
    source = sqlite_path(settings.database_url)
    if source is None:
        _run_postgres(pg_dump_command(settings.database_url, destination), "pg_dump", destination)
    else:
        pages = backup_sqlite(source, destination, force=force)
        err.print(f"backed up {source} to {destination} ({pages} pages)", markup=False)
    err.print(KEY_WARNING, style="bold yellow", markup=False)


def restore(settings: Settings, source: Path, *, force: bool) -> None:
    """Restore ``source`` into the configured database."""
    target = sqlite_path(settings.database_url)
    if target is None:
        command = pg_restore_command(settings.database_url, source, force=force)
        _run_postgres(command, "pg_restore", source)
    else:
        restore_sqlite(source, target, force=force)
        err.print(f"restored {source} into {target}", markup=False)
    err.print(
        "Next: start certctl with the encryption key of the backed-up installation "
        "(CERTCTL_CONFIG_ENCRYPTION_KEY); `certctl serve` applies any newer migrations.",
        markup=False,
    )


def _run_postgres(command: PostgresCommand, tool: str, path: Path) -> None:
    """Run pg_dump/pg_restore, or say how to when the client programs are not installed."""
    program = find_tool(tool)
    if program is None:
        err.print(
            f"error: {tool} is not installed. Install the PostgreSQL client programs "
            "(Debian: apt-get install postgresql-client) and run this again, or run it "
            f"yourself: {tool} {_shown(command)}",
            style="red",
            markup=False,
        )
        raise typer.Exit(1)
    result = subprocess.run(  # noqa: S603 - argv built from the configured URL, no shell
        [program, *command.argv[1:]], env=command.env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        err.print(f"error: {tool} failed: {result.stderr.strip()}", style="red", markup=False)
        raise typer.Exit(1)
    err.print(f"{tool} finished ({path})", markup=False)


def _shown(command: PostgresCommand) -> str:
    """The arguments as a person would type them (the password stays in PGPASSWORD)."""
    return " ".join(f"'{a}'" if " " in a else a for a in command.argv[1:])


__all__ = ["KEY_WARNING", "backup", "restore"]
