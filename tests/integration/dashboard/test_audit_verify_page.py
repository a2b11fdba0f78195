"""The dashboard's audit chain page: intact or the first broken link, admin and auditor only."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest

from .conftest import SignedIn


async def _teams(ctx: AppContext, count: int) -> None:
    for n in range(count):
        await ctx.teams.create(SYSTEM_CALLER, {"name": f"T{n}"})


async def test_admin_sees_an_intact_chain_with_its_row_count(
    ctx: AppContext, signed_in: SignedIn
) -> None:
    """Three team rows and the sign-in's row, untouched: intact, 4 rows checked."""
    await _teams(ctx, 3)
    browser = await signed_in("admin")
    page = await browser.get("/audit/verify")
    assert page.status_code == 200
    assert "Every link of the hash chain holds" in page.text
    assert 'data-testid="rows-checked">4<' in page.text
    assert 'data-testid="verify-chain"' in (await browser.get("/audit")).text


async def test_auditor_sees_the_first_broken_row(ctx: AppContext, signed_in: SignedIn) -> None:
    """A row edited behind the triggers' back is named by kind and sequence number."""
    await _teams(ctx, 3)
    async with ctx.runtime.db.engine.begin() as conn:
        if ctx.runtime.db.backend == "postgresql":
            await conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            await conn.execute(text("DROP TRIGGER audit_events_no_update"))
        seq = await conn.scalar(text("SELECT max(seq) FROM audit_events"))
        await conn.execute(text("UPDATE audit_events SET action = 'x' WHERE seq = :s"), {"s": seq})
        if ctx.runtime.db.backend == "postgresql":
            await conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    page = await (await signed_in("auditor")).get("/audit/verify")
    assert page.status_code == 200
    assert 'data-testid="break-kind">content_changed<' in page.text
    assert f'data-testid="break-seq">{seq}<' in page.text


@pytest.mark.parametrize("role", ["operator", "viewer"])
async def test_other_roles_are_refused(signed_in: SignedIn, role: str) -> None:
    """Operators and viewers get 403 and no verify button."""
    browser = await signed_in(role)
    assert (await browser.get("/audit/verify")).status_code == 403
    assert 'data-testid="verify-chain"' not in (await browser.get("/audit")).text


async def test_dashboard_write_rows_carry_a_latency(ctx: AppContext, signed_in: SignedIn) -> None:
    """A change made from the dashboard is audited with its latency (and no body hash)."""
    browser = await signed_in("admin")
    answer = await browser.post("/teams", {"name": "Platform", "description": ""})
    assert answer.status_code == 303
    page = await ctx.audit.search(
        SYSTEM_CALLER, request=PageRequest(per_page=5), filters=AuditFilter(action="team_created")
    )
    [row] = page.items
    assert row.latency_ms is not None
    assert row.latency_ms >= 0
    assert row.body_sha256 is None
