"""`certctl notifications …`: the outbox, dead letters and requeue."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import Cli, fields, rows


@pytest.fixture
async def dead(api: httpx.AsyncClient) -> dict[str, Any]:
    """A dead notification: a channel test to an address the SSRF guard refuses is final."""
    channel = await api.post(
        "/api/v1/notification-channels",
        json={"name": "hooks", "channel": "Webhook", "config": {"url": "http://127.0.0.1:9/x"}},
    )
    assert channel.status_code == 201, channel.text
    tested = await api.post(f"/api/v1/notification-channels/{channel.json()['id']}/test")
    row: dict[str, Any] = tested.json()
    assert row["status"] == "dead", row
    return row


async def test_dead_list_json_is_the_api_answer(
    cli: Cli, api: httpx.AsyncClient, dead: dict[str, Any]
) -> None:
    """`notifications list --dead --output json` prints GET /notifications?status=dead."""
    run = await cli("notifications", "list", "--dead", "--output", "json", role="viewer")
    assert run.json() == (await api.get("/api/v1/notifications?status=dead")).json()
    assert [n["id"] for n in run.json()["data"]] == [dead["id"]]


async def test_list_table_shows_retry_and_last_error(cli: Cli, dead: dict[str, Any]) -> None:
    """A row shows the channel, status, `Retry n/5` and the last error."""
    run = await cli("notifications", "list", role="viewer")
    assert rows(run.stdout) == [
        [
            dead["id"],
            "Webhook",
            "dead",
            dead["severity_tier"],
            f"{dead['attempts']}/5",
            dead["last_error"],
            "now",
        ]
    ]


async def test_status_filter_reaches_the_api(cli: Cli, dead: dict[str, Any]) -> None:
    """--status sent excludes the dead row."""
    run = await cli("notifications", "list", "--status", "sent", "--output", "json")
    assert run.json()["total"] == 0


async def test_dead_and_another_status_contradict(cli: Cli) -> None:
    """--dead with --status sent is a usage error."""
    run = await cli("notifications", "list", "--dead", "--status", "sent")
    assert (run.code, run.stderr) == (2, "error: --dead and --status contradict each other\n")


async def test_requeue_resets_the_row(
    cli: Cli, api: httpx.AsyncClient, dead: dict[str, Any]
) -> None:
    """`notifications requeue ID` answers the row pending again from attempt 0."""
    run = await cli("notifications", "requeue", dead["id"], "--output", "json", role="operator")
    assert run.code == 0, run.stderr
    assert (run.json()["status"], run.json()["attempts"]) == ("pending", 0)
    assert run.json() == (await api.get(f"/api/v1/notifications/{dead['id']}")).json()


async def test_requeue_table(cli: Cli, dead: dict[str, Any]) -> None:
    """The table after a requeue shows the new status and retry count."""
    shown = fields((await cli("notifications", "requeue", dead["id"])).stdout)
    assert (shown["Status"], shown["Retry"], shown["Channel"]) == ("pending", "0/5", "Webhook")


async def test_requeue_unknown_is_404(cli: Cli) -> None:
    """A missing notification is a one-line 404."""
    run = await cli("notifications", "requeue", "nt-nope")
    assert run.code == 1
    assert run.stderr.startswith("error: Not found (HTTP 404): ")
