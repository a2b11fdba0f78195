"""Database backups: SQLite's online backup API, and pg_dump/pg_restore for PostgreSQL.

A backup holds sealed secrets and CA private keys encrypted with the configuration
encryption key, which is never stored in the database: a backup is only usable with it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from certctl.errors import Conflict, InvalidRequest, NotFound

# Pages copied per step: small steps let a live server keep writing between them.
_PAGES_PER_STEP = 256


@dataclass(frozen=True)
class PostgresCommand:
    """A pg_dump or pg_restore invocation: its argv and the variables that carry the login."""

    argv: tuple[str, ...]
    env: dict[str, str]


def sqlite_path(database_url: str) -> Path | None:
    """The file of an SQLite URL, or None for PostgreSQL."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise InvalidRequest(
            "an in-memory SQLite database cannot be backed up", field="database_url"
        )
    return Path(url.database)


def backup_sqlite(source: Path, destination: Path, *, force: bool = False) -> int:
    """Copy a live SQLite database consistently into ``destination``; return its page count.

    The copy is written beside the destination, checked, then renamed into place, so a
    failed backup never leaves a half-written file under the name asked for.
    """
    if not source.is_file():
        raise NotFound("database", str(source))
    if destination.exists() and not force:
        raise Conflict(f"{destination} already exists; pass --force to replace it")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    # The source opens read-write like the server's own connections, so that a database in
    # WAL mode is read with its write-ahead log whether or not a server has it open.
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(partial)) as dst:
        src.backup(dst, pages=_PAGES_PER_STEP)
        # The copy inherits WAL mode; a backup is one self-contained file, so leave it.
        dst.execute("PRAGMA journal_mode=DELETE")
        pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
    _check_certctl_database(partial)
    partial.replace(destination)
    return pages


def restore_sqlite(backup: Path, target: Path, *, force: bool = False) -> None:
    """Write a backup into ``target``, refusing to replace a database that holds tables."""
    if not backup.is_file():
        raise NotFound("backup", str(backup))
    _check_certctl_database(backup)
    if _has_tables(target) and not force:
        raise Conflict(
            f"{target} already holds a database; restore into a new data directory, "
            "or pass --force to replace it (stop every server using it first)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(backup)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst, pages=_PAGES_PER_STEP)


def _has_tables(path: Path) -> bool:
    if not path.is_file() or path.stat().st_size == 0:
        return False
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return bool(
            conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
        )


def _check_certctl_database(path: Path) -> None:
    """Refuse a file that is not an intact SQLite database with certctl's schema version."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            intact = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise InvalidRequest(f"{path} is not an SQLite database: {exc}", field="path") from exc
    if not intact or "alembic_version" not in tables:
        raise InvalidRequest(f"{path} is not an intact certctl database", field="path")


def pg_dump_command(database_url: str, destination: Path) -> PostgresCommand:
    """pg_dump in its custom format (compressed, restorable table by table)."""
    dsn, env = _libpq(database_url)
    argv = ("pg_dump", "--format=custom", "--no-owner", f"--file={destination}", f"--dbname={dsn}")
    return PostgresCommand(argv, env)


def pg_restore_command(database_url: str, backup: Path, *, force: bool) -> PostgresCommand:
    """pg_restore in one transaction; ``force`` drops the objects it replaces first."""
    dsn, env = _libpq(database_url)
    replace: Sequence[str] = ("--clean", "--if-exists") if force else ()
    argv = (
        "pg_restore",
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        *replace,
        f"--dbname={dsn}",
        str(backup),
    )
    return PostgresCommand(argv, env)


def find_tool(name: str) -> str | None:
    """The PostgreSQL client program on PATH, else the newest under /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, which travels in PGPASSWORD (not the process list)."""
    url = make_url(database_url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return plain.render_as_string(hide_password=False), env
