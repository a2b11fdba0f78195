"""`certctl status`: the dashboard summary."""

from __future__ import annotations

import httpx

from .conftest import SERVER, Cli, fields, import_cert, rows


async def test_status_json_is_the_summary(cli: Cli, api: httpx.AsyncClient) -> None:
    """`status --output json` prints GET /stats/summary."""
    await import_cert(api, "a.example.com", days_left=10)
    run = await cli("status", "--output", "json", role="viewer")
    assert run.json() == (await api.get("/api/v1/stats/summary")).json()


async def test_status_table_shows_the_counts(cli: Cli, api: httpx.AsyncClient) -> None:
    """The headline counts and the per-status table."""
    await import_cert(api, "a.example.com", days_left=10)
    await import_cert(api, "b.example.com", days_left=90)
    run = await cli("status", role="viewer")
    shown = fields(run.stdout)
    assert {k: shown[k] for k in ("Server", "Certificates", "Expiring in 30 days")} == {
        "Server": SERVER,
        "Certificates": "2",
        "Expiring in 30 days": "1",
    }
    assert (shown["Agents online"], shown["Dead notifications"]) == ("0/0", "0")
    assert ["Active", "1"] in rows(run.stdout)
    assert ["Expiring", "1"] in rows(run.stdout)
