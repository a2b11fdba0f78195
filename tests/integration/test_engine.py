"""The database engine keeps secrets out of logs and its SQLite file private (SPEC C10)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from certctl.db.engine import create_engine

SECRET = "hunter2-parameter-value"


def _modes(directory: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}


async def test_sqlite_file_is_created_owner_only(tmp_path: Path) -> None:
    """A new SQLite database and its WAL files are readable by their owner only (0600)."""
    path = tmp_path / "certctl.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (v TEXT)"))
            await conn.execute(text("INSERT INTO t VALUES ('x')"))
        modes = _modes(tmp_path)
    finally:
        await engine.dispose()
    assert modes == dict.fromkeys(["certctl.db", "certctl.db-shm", "certctl.db-wal"], 0o600)


async def test_existing_world_readable_sqlite_file_is_tightened(tmp_path: Path) -> None:
    """A database file left 0644 by an older version is made 0600 when the engine opens it."""
    path = tmp_path / "certctl.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    engine = create_engine(f"sqlite:///{path}")
    await engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_debug_logging_never_prints_sql_parameters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With SQL logging on, statements are logged and their parameters are not, even in errors."""
    engine = create_engine(f"sqlite:///{tmp_path / 'certctl.db'}")
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (v TEXT PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": SECRET})
        with pytest.raises(IntegrityError) as caught:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": SECRET})
    finally:
        await engine.dispose()
    assert "INSERT INTO t VALUES (?)" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in str(caught.value)
