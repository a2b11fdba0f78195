"""`certctl audit …`: search and export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Cli, import_cert, rows


@pytest.fixture
async def imported(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Two imported certificates: two `certificate_imported` audit rows."""
    return [
        await import_cert(api, "a.example.com", days_left=60),
        await import_cert(api, "b.example.com", days_left=60),
    ]


async def test_list_json_with_filters_is_the_api_answer(
    cli: Cli, api: httpx.AsyncClient, imported: list[dict[str, Any]]
) -> None:
    """Filters are passed through; the JSON is the API's page."""
    cert_id = imported[0]["id"]
    run = await cli(
        "audit", "list", "--action", "certificate_imported", "--resource-type", "certificate",
        "--resource-id", cert_id, "--actor", "admin-user", "--output", "json", role="auditor",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    query = f"action=certificate_imported&resource_id={cert_id}"
    assert run.json() == (await api.get(f"/api/v1/audit?{query}")).json()
    assert run.json()["total"] == 1


async def test_list_table_rows(cli: Cli, imported: list[dict[str, Any]]) -> None:
    """Rows show when (relative), who, what, on which resource and the outcome."""
    run = await cli("audit", "list", role="auditor")
    assert rows(run.stdout) == [
        ["now", "admin-user", "certificate_imported", f"certificate/{c['id']}", "success"]
        for c in reversed(imported)
    ]


@pytest.mark.parametrize(
    ("args", "total"),
    [
        (["--since", "2026-06-01T12:00:00Z"], 2),
        (["--until", "2026-06-01T12:00:00Z"], 0),
        (["--since", "2026-06-02"], 0),
    ],
)
async def test_time_bounds_reach_the_api(
    cli: Cli, imported: list[dict[str, Any]], args: list[str], total: int
) -> None:
    """--since is inclusive and --until exclusive (events are at the frozen clock)."""
    run = await cli("audit", "list", *args, "--output", "json", role="auditor")
    assert run.json()["total"] == total


async def test_export_csv_to_a_file(
    cli: Cli, api: httpx.AsyncClient, imported: list[dict[str, Any]], tmp_path: Path
) -> None:
    """`audit export -o FILE` writes a header and one row per event, details as JSON."""
    target = tmp_path / "audit.csv"
    run = await cli("audit", "export", "--format", "csv", "-o", str(target), role="auditor")
    assert run.code == 0, run.stderr
    assert run.stderr == f"2 audit events written to {target}\n"
    exported = list(csv.DictReader(io.StringIO(target.read_text())))
    events = (await api.get("/api/v1/audit")).json()["data"]
    assert [r["id"] for r in exported] == [e["id"] for e in events]
    assert exported[0] == {
        "id": events[0]["id"],
        "occurred_at": events[0]["occurred_at"],
        "actor": "admin-user",
        "actor_type": events[0]["actor_type"],
        "action": "certificate_imported",
        "resource_type": "certificate",
        "resource_id": imported[1]["id"],
        "status": "success",
        "request_id": events[0]["request_id"] or "",
        "details": json.dumps(events[0]["details"], sort_keys=True),
    }


async def test_export_json_to_stdout(
    cli: Cli, api: httpx.AsyncClient, imported: list[dict[str, Any]]
) -> None:
    """`audit export --format json` prints every matching event as one JSON array."""
    run = await cli("audit", "export", "--format", "json", "--action", "certificate_imported")
    assert run.code == 0, run.stderr
    assert run.json() == (await api.get("/api/v1/audit?action=certificate_imported")).json()["data"]
