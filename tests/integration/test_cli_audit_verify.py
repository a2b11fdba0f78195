"""`certctl audit verify` on the configured database: exit 0 intact, 1 at a broken link."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from certctl.bootstrap import AppContext
from certctl.cli.main import app
from certctl.db.database import Database
from certctl.domain.access import SYSTEM_CALLER
from certctl.services.audit import record


def _invoke(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.stdout, result.stderr


async def _append(ctx: AppContext, count: int) -> None:
    for n in range(count):
        async with ctx.runtime.db.uow() as uow:
            await record(
                uow,
                ctx.runtime,
                caller=SYSTEM_CALLER,
                action="probe",
                resource_type="t",
                resource_id=str(n),
            )


async def test_intact_chain_prints_rows_and_head(ctx: AppContext, database_url: str) -> None:
    """Three untouched rows: exit 0 and a JSON report with 3 rows and no break."""
    await _append(ctx, 3)
    env = {"CERTCTL_DATABASE_URL": database_url}
    code, out, _ = await asyncio.to_thread(_invoke, ["audit", "verify", "--output", "json"], env)
    assert code == 0
    found = json.loads(out)
    assert (found["intact"], found["rows_checked"], found["first_break"]) == (True, 3, None)


async def test_edited_row_exits_1_naming_the_row(ctx: AppContext, database_url: str) -> None:
    """A row edited behind the triggers' back: exit 1 and the message names its seq."""
    await _append(ctx, 3)
    async with ctx.runtime.db.engine.begin() as conn:
        if ctx.runtime.db.backend == "postgresql":
            await conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            await conn.execute(text("DROP TRIGGER audit_events_no_update"))
        seq = await conn.scalar(text("SELECT min(seq) + 1 FROM audit_events"))
        await conn.execute(text("UPDATE audit_events SET actor = 'x' WHERE seq = :s"), {"s": seq})
        if ctx.runtime.db.backend == "postgresql":
            await conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    env = {"CERTCTL_DATABASE_URL": database_url}
    code, _, err = await asyncio.to_thread(_invoke, ["audit", "verify"], env)
    assert code == 1
    assert f"BROKEN (content_changed) at row {seq} " in err


async def test_unmigrated_database_exits_2_and_is_left_alone(tmp_path: Path) -> None:
    """An empty database is not migrated by a verification: exit 2 naming `db upgrade`."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    code, _, err = await asyncio.to_thread(
        _invoke, ["audit", "verify"], {"CERTCTL_DATABASE_URL": url}
    )
    assert code == 2
    assert "run `certctl db upgrade` first" in err
    db = Database(url)
    try:
        assert await db.is_current() is False
    finally:
        await db.dispose()
