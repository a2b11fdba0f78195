"""`certctl jobs …`: list, get, approve, reject, cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import Cli, fields, import_cert, rows


@pytest.fixture
async def awaiting(
    api: httpx.AsyncClient, make_client: Callable[[str | None], httpx.AsyncClient]
) -> dict[str, Any]:
    """A renewal job awaiting approval, requested by the operator."""
    await api.post("/api/v1/issuers", json={"id": "iss-1", "name": "Local", "type": "GenericCA"})
    await api.post(
        "/api/v1/profiles", json={"id": "pr-gated", "name": "gated", "requires_approval": True}
    )
    cert = await import_cert(api, "gated.example.com", days_left=20)
    await api.patch(
        f"/api/v1/certificates/{cert['id']}",
        json={"issuer_id": "iss-1", "certificate_profile_id": "pr-gated"},
    )
    response = await make_client("operator").post(f"/api/v1/certificates/{cert['id']}/renew")
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] == "AwaitingApproval"
    return job


async def test_list_json_is_the_api_answer(
    cli: Cli, api: httpx.AsyncClient, awaiting: dict[str, Any]
) -> None:
    """`jobs list --output json` prints GET /jobs."""
    run = await cli("jobs", "list", "--output", "json", role="viewer")
    assert run.json() == (await api.get("/api/v1/jobs")).json()
    assert [j["id"] for j in run.json()["data"]] == [awaiting["id"]]


async def test_list_table_row(cli: Cli, awaiting: dict[str, Any]) -> None:
    """A row shows id, type, certificate, coloured status, attempts and relative times."""
    run = await cli("jobs", "list", role="viewer")
    assert rows(run.stdout) == [
        [
            awaiting["id"],
            "Renewal",
            awaiting["certificate_id"],
            "AwaitingApproval",
            f"0/{awaiting['max_attempts']}",
            "now",
        ]
    ]


@pytest.mark.parametrize(
    ("args", "count"),
    [
        (["--status", "AwaitingApproval"], 1),
        (["--status", "Completed"], 0),
        (["--type", "Renewal"], 1),
        (["--type", "Issuance"], 0),
        (["--certificate", "mc-other"], 0),
    ],
)
async def test_list_filters_reach_the_api(
    cli: Cli, awaiting: dict[str, Any], args: list[str], count: int
) -> None:
    """--status, --type and --certificate filter the list."""
    run = await cli("jobs", "list", *args, "--output", "json", role="viewer")
    assert run.json()["total"] == count


async def test_get_shows_the_job(cli: Cli, awaiting: dict[str, Any]) -> None:
    """`jobs get ID` shows who asked and the state."""
    shown = fields((await cli("jobs", "get", awaiting["id"], role="viewer")).stdout)
    assert (shown["Status"], shown["Requested by"], shown["Approved by"]) == (
        "AwaitingApproval",
        "operator-user",
        "—",
    )


async def test_approve_moves_the_job_to_pending(cli: Cli, awaiting: dict[str, Any]) -> None:
    """An admin's approval (with a reason) releases the job."""
    run = await cli(
        "jobs", "approve", awaiting["id"], "--reason", "change CHG-12", "--output", "json"
    )
    assert run.code == 0, run.stderr
    job = run.json()
    assert (job["status"], job["approved_by"], job["decision_reason"]) == (
        "Pending",
        "admin-user",
        "change CHG-12",
    )


async def test_the_requester_cannot_approve(cli: Cli, awaiting: dict[str, Any]) -> None:
    """Four eyes: the operator who asked gets a one-line 403."""
    run = await cli("jobs", "approve", awaiting["id"], role="operator")
    assert run.code == 1
    assert run.stderr.startswith("error: Forbidden (HTTP 403): ")
    assert len(run.stderr.splitlines()) == 1


async def test_reject_cancels_with_the_reason(cli: Cli, awaiting: dict[str, Any]) -> None:
    """A rejection ends the job Cancelled and keeps the reason."""
    run = await cli("jobs", "reject", awaiting["id"], "--reason", "freeze week")
    shown = fields(run.stdout)
    assert (run.code, shown["Status"], shown["Decision reason"]) == (
        0,
        "Cancelled",
        "freeze week",
    )


async def test_reject_needs_a_reason(cli: Cli, awaiting: dict[str, Any]) -> None:
    """--reason is a required option of reject."""
    run = await cli("jobs", "reject", awaiting["id"])
    assert run.code == 2
    assert "Missing option '--reason'" in run.stderr


async def test_cancel_then_cancel_again(cli: Cli, awaiting: dict[str, Any]) -> None:
    """Cancelling works once; the second time is the API's 409 on one line."""
    first = await cli("jobs", "cancel", awaiting["id"], "--output", "json")
    assert (first.code, first.json()["status"]) == (0, "Cancelled")
    second = await cli("jobs", "cancel", awaiting["id"])
    assert second.code == 1
    assert second.stderr.startswith("error: Conflict (HTTP 409): ")


async def test_get_unknown_job_is_404(cli: Cli) -> None:
    """A missing job is a one-line 404."""
    run = await cli("jobs", "get", "job-nope")
    assert (run.code, run.stderr) == (1, "error: Not found (HTTP 404): job 'job-nope' not found\n")
