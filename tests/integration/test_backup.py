"""`certctl db backup` / `db restore` on SQLite (online backup API) and PostgreSQL (pg_dump)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from certctl.bootstrap import build_context
from certctl.cli.database import KEY_WARNING
from certctl.cli.main import app
from certctl.db.backup import pg_dump_command, pg_restore_command
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.certificates import CertificateFilter
from certctl.domain.listing import PageRequest, SortKey
from certctl.pki.mint import make_ca, mint_leaf
from certctl.settings import Settings
from certctl.testing.clock import TEST_EPOCH
from certctl.testing.postgres import ThrowawayCluster

_names = itertools.count()


async def certctl(*args: str, url: str) -> tuple[int, str]:
    """Run `certctl ARGS` against the database at `url`; answer (exit code, stderr)."""
    result = await asyncio.to_thread(
        CliRunner().invoke, app, list(args), env={"CERTCTL_DATABASE_URL": url}
    )
    return result.exit_code, result.stderr


async def imported(api: httpx.AsyncClient) -> str:
    """Import one CA-signed leaf and answer its certificate id."""
    ca = make_ca("Backup CA", TEST_EPOCH)
    pem = mint_leaf(
        ca, common_name="db.example.com", sans=["db.example.com"],
        not_before=TEST_EPOCH, not_after=TEST_EPOCH.replace(year=TEST_EPOCH.year + 1),
    )  # fmt: skip
    response = await api.post("/api/v1/certificates/import", json={"pem": pem})
    assert response.status_code == 201, response.text
    return str(response.json()["certificate"]["id"])


async def certificate_ids(url: str) -> list[str]:
    """The certificate ids stored in the database at `url`; the list's total (kept as
    per-status counts) must agree with them."""
    ctx = build_context(Settings(database_url=url))
    try:
        page = await ctx.certificates.search(
            SYSTEM_CALLER,
            request=PageRequest(),
            sort=SortKey("name"),
            filters=CertificateFilter(),
        )
        ids = [c.id for c in page.items]
        assert page.total == len(ids)
        return ids
    finally:
        await ctx.aclose()


@pytest.fixture
async def empty_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A database that does not exist yet (SQLite) or holds no tables (PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/restored/certctl.db"
        return
    cluster: ThrowawayCluster = request.getfixturevalue("pg_cluster")
    name = f"restored_{next(_names)}"
    admin = await asyncpg.connect(cluster.admin_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield cluster.url(name)
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


async def test_backup_then_restore_into_an_empty_database(
    api: httpx.AsyncClient, database_url: str, empty_url: str, tmp_path: Path
) -> None:
    """A backup restored into an empty database holds the same certificates."""
    cert_id = await imported(api)
    code, said = await certctl("db", "backup", str(tmp_path / "certctl.backup"), url=database_url)
    assert code == 0, said
    assert KEY_WARNING in " ".join(said.split())
    written = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.iterdir()))
    assert [name for name in written if name.startswith("certctl.backup")] == ["certctl.backup"]
    code, said = await certctl("db", "restore", str(tmp_path / "certctl.backup"), url=empty_url)
    assert code == 0, said
    assert await certificate_ids(empty_url) == [cert_id]


async def test_restore_refuses_a_database_in_use_unless_forced(
    api: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    """Restoring over a database with tables exits 1 and changes nothing; --force replaces it."""
    await certctl("db", "backup", str(tmp_path / "empty.backup"), url=database_url)
    cert_id = await imported(api)
    code, said = await certctl("db", "restore", str(tmp_path / "empty.backup"), url=database_url)
    assert code == 1
    assert await certificate_ids(database_url) == [cert_id]
    code, said = await certctl(
        "db", "restore", "--force", str(tmp_path / "empty.backup"), url=database_url
    )
    assert code == 0, said
    assert await certificate_ids(database_url) == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_backup_refuses_to_overwrite_unless_forced(database_url: str, tmp_path: Path) -> None:
    """An existing backup file is kept (exit 1) unless --force is given."""
    target = tmp_path / "certctl.backup"
    target.write_text("previous backup")
    code, said = await certctl("db", "backup", str(target), url=database_url)
    assert (code, target.read_text()) == (1, "previous backup")
    assert "already exists; pass --force to replace it" in said
    code, _ = await certctl("db", "backup", "--force", str(target), url=database_url)
    assert code == 0
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


async def test_restore_refuses_a_file_that_is_not_a_certctl_database(tmp_path: Path) -> None:
    """A stray file is refused by name and nothing is created."""
    stray = tmp_path / "notes.txt"
    stray.write_text("not a database\n" * 200)
    target = tmp_path / "new" / "certctl.db"
    code, said = await certctl("db", "restore", str(stray), url=f"sqlite+aiosqlite:///{target}")
    assert code == 1
    assert f"{stray} is not an SQLite database" in " ".join(said.split())
    assert not target.exists()


def test_postgres_commands_keep_the_password_out_of_the_arguments() -> None:
    """pg_dump and pg_restore get a libpq URI without the password, which goes in PGPASSWORD."""
    url = "postgresql+asyncpg://certctl:s3cret@db.internal:5433/certctl"
    dump = pg_dump_command(url, Path("/backups/c.dump"))
    assert dump.argv == (
        "pg_dump", "--format=custom", "--no-owner", "--file=/backups/c.dump",
        "--dbname=postgresql://certctl@db.internal:5433/certctl",
    )  # fmt: skip
    assert dump.env["PGPASSWORD"] == "s3cret"
    restore = pg_restore_command(url, Path("/backups/c.dump"), force=True)
    assert restore.argv == (
        "pg_restore", "--single-transaction", "--exit-on-error", "--no-owner", "--clean",
        "--if-exists", "--dbname=postgresql://certctl@db.internal:5433/certctl", "/backups/c.dump",
    )  # fmt: skip
    assert not any("s3cret" in arg for arg in dump.argv + restore.argv)
