"""`certctl alerts …`: list, show with deliveries, ack and resolve."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from certctl.bootstrap import AppContext

from .conftest import Cli, fields, rows


@pytest.fixture
async def alert(api: httpx.AsyncClient, ctx: AppContext) -> dict[str, Any]:
    """The open T-0 alert of a certificate expiring in twelve hours (policy: T-0 only)."""
    policy = await api.post(
        "/api/v1/renewal-policies", json={"name": "t0", "alert_thresholds_days": [0]}
    )
    expires = (ctx.clock.now() + timedelta(hours=12)).isoformat()
    cert = await api.post(
        "/api/v1/certificates",
        json={
            "name": "api",
            "common_name": "api.example.com",
            "status": "Active",
            "expires_at": expires,
            "renewal_policy_id": policy.json()["id"],
        },
    )
    assert cert.status_code == 201, cert.text
    await ctx.alerts.scan()
    [found] = (await api.get("/api/v1/alerts")).json()["data"]
    return dict(found)


async def test_list_json_is_the_api_answer(
    cli: Cli, api: httpx.AsyncClient, alert: dict[str, Any]
) -> None:
    """`alerts list --output json` prints GET /alerts."""
    run = await cli("alerts", "list", "--output", "json", role="viewer")
    assert run.json() == (await api.get("/api/v1/alerts")).json()
    assert [a["id"] for a in run.json()["data"]] == [alert["id"]]


async def test_list_table_shows_state_and_subject(cli: Cli, alert: dict[str, Any]) -> None:
    """A row shows id, state, kind, tier, threshold and subject."""
    run = await cli("alerts", "list", "--state", "open", role="viewer")
    assert rows(run.stdout)[0][:6] == [
        alert["id"],
        "open",
        "expiry",
        "critical",
        "0",
        alert["subject"],
    ]


async def test_show_lists_the_deliveries(cli: Cli, alert: dict[str, Any]) -> None:
    """`alerts show` prints the alert and a row per delivery (Email, pending)."""
    run = await cli("alerts", "show", alert["id"], "--output", "json", role="viewer")
    assert [(d["channel"], d["status"]) for d in run.json()["deliveries"]] == [("Email", "pending")]


async def test_ack_then_resolve(cli: Cli, alert: dict[str, Any]) -> None:
    """ack records the operator; resolve with --reason resolves it with that reason."""
    acked = await cli("alerts", "ack", alert["id"], role="operator")
    assert (acked.code, fields(acked.stdout)["State"]) == (0, "acknowledged")
    done = await cli(
        "alerts", "resolve", alert["id"], "--reason", "host decommissioned", role="operator"
    )
    details = fields(done.stdout)
    assert (done.code, details["State"], details["Resolve reason"]) == (
        0,
        "resolved",
        "host decommissioned",
    )


async def test_resolve_without_a_reason_is_a_usage_error(cli: Cli, alert: dict[str, Any]) -> None:
    """--reason is required: exit code 2 and nothing changes."""
    run = await cli("alerts", "resolve", alert["id"], role="operator")
    assert run.code == 2
    shown = await cli("alerts", "show", alert["id"], "--output", "json")
    assert shown.json()["state"] == "open"


async def test_a_viewer_cannot_acknowledge(cli: Cli, alert: dict[str, Any]) -> None:
    """The API's 403 is reported with a non-zero exit code."""
    run = await cli("alerts", "ack", alert["id"], role="viewer")
    assert run.code != 0
    assert "403" in run.stderr or "forbidden" in run.stderr.lower()


async def test_forecast_json_is_the_api_answer_and_the_table_names_the_day(
    cli: Cli, api: httpx.AsyncClient, alert: dict[str, Any], ctx: AppContext
) -> None:
    """`alerts forecast --days 3` prints GET /alerts/forecast; already-alerted T-0 is absent."""
    run = await cli("alerts", "forecast", "--days", "3", "--output", "json", role="viewer")
    answer = (await api.get("/api/v1/alerts/forecast", params={"days": 3})).json()
    assert run.json() == answer
    assert (answer["total"], answer["assumes_no_renewal"]) == (0, True)
    table = await cli("alerts", "forecast", "--days", "3", role="viewer")
    assert "next 3 days (assumes no renewal)" in table.stdout


async def test_forecast_refuses_a_horizon_past_90_days(cli: Cli) -> None:
    """`--days 91` is refused before any request."""
    run = await cli("alerts", "forecast", "--days", "91", role="viewer")
    assert run.code == 2


async def test_show_says_whether_the_alert_escalated(cli: Cli, alert: dict[str, Any]) -> None:
    """An alert not escalated shows a dash; the JSON carries escalated_at and its level."""
    table = await cli("alerts", "show", alert["id"], role="viewer")
    assert fields(table.stdout)["Escalated"] == "—"
    shown = await cli("alerts", "show", alert["id"], "--output", "json", role="viewer")
    assert (shown.json()["escalated_at"], shown.json()["escalation_level"]) == (None, 0)
