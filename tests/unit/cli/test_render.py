"""CLI list tables at 80 columns: low-value columns go, the rest stay whole and readable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table

from certctl.cli.client_cmds.agents import agent_table
from certctl.cli.client_cmds.audit import audit_table
from certctl.cli.client_cmds.certs import certificate_table
from certctl.cli.client_cmds.jobs import job_table
from certctl.cli.client_cmds.notifications import notification_table
from certctl.cli.client_cmds.policies import policy_table

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def page(*items: dict[str, Any]) -> Any:
    """A list envelope around these items."""
    return {"data": list(items), "total": len(items), "page": 1, "per_page": 50}


def printed(table: Table, width: int) -> str:
    """What a terminal of this width shows."""
    console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    text = console.export_text()
    console.file.close()
    return text


def headers(text: str) -> list[str]:
    """The header words of the printed table, one entry per column (wrapped headers joined)."""
    head = [line.strip("┃").split("┃") for line in text.splitlines() if line.startswith("┃")]
    return [
        " ".join(cell.strip() for cell in col if cell.strip()) for col in zip(*head, strict=True)
    ]


def cells(text: str) -> list[list[str]]:
    """Body rows, wrapped cells joined back with spaces."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("│"):
            parts = [cell.strip() for cell in line.strip("│").split("│")]
            if rows and not parts[0]:
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], parts, strict=True)]
            else:
                rows.append(parts)
    return rows


JOB = {
    "id": "job-01m91bnab34d826rnv8qa56at9",
    "type": "Deployment",
    "certificate_id": "mc-01m91bna6xrj19wdr6kskce5t0",
    "status": "AwaitingApproval",
    "attempts": 0,
    "max_attempts": 5,
    "updated_at": "2026-06-01T11:58:00Z",
}
CERT = {
    "id": "mc-01m91bna5rw4gqp2gy8ewx86ya",
    "name": "checkout-payments-prod",
    "status": "RenewalInProgress",
    "environment": "production",
    "expires_at": "2026-06-27T12:00:00Z",
}
NOTIFICATION = {
    "id": "ne-01m91bnaf3bsztrt6ds0e231cy",
    "channel": "Webhook",
    "status": "dead",
    "severity_tier": "critical",
    "attempts": 5,
    "max_attempts": 5,
    "last_error": "Webhook answered HTTP 503",
    "created_at": "2026-06-01T10:00:00Z",
}
AGENT = {
    "id": "ag-edge-01",
    "name": "edge-01",
    "hostname": "edge-01.eu-west.example.net",
    "status": "Degraded",
    "version": "0.1.0",
    "last_heartbeat_at": "2026-06-01T11:57:00Z",
}
POLICY = {
    "id": "rp-critical",
    "name": "Customer facing, page on-call",
    "renewal_window_days": 30,
    "auto_renew": True,
    "alert_thresholds_days": [0, 1, 7, 14, 30],
}
EVENT = {
    "occurred_at": "2026-06-01T11:00:00Z",
    "actor": "demo-admin",
    "action": "notification_dead_lettered",
    "resource_type": "notification",
    "resource_id": "ne-01m91bnaf3bsztrt6ds0e231cy",
    "status": "success",
}


def test_jobs_at_80_columns_keep_type_status_and_tries() -> None:
    """`jobs list` at 80 columns drops Updated and Certificate and shows the rest in full."""
    text = printed(job_table(page(JOB), AT), 80)
    assert headers(text) == ["ID", "Type", "Status", "Tries"]
    assert cells(text) == [[JOB["id"], "Deployment", "AwaitingApproval", "0/5"]]
    assert max(len(line) for line in text.splitlines()) <= 80


def test_jobs_on_a_wide_terminal_show_every_column() -> None:
    """At 200 columns no column is dropped."""
    text = printed(job_table(page(JOB), AT), 200)
    assert headers(text) == ["ID", "Type", "Certificate", "Status", "Tries", "Updated"]
    assert cells(text) == [
        [JOB["id"], "Deployment", JOB["certificate_id"], "AwaitingApproval", "0/5", "2 min ago"]
    ]


@pytest.mark.parametrize(
    ("table", "shown", "row"),
    [
        (
            certificate_table(page(CERT), AT),
            ["ID", "Status", "Expires"],
            [CERT["id"], "RenewalInProgress", "in 26 d"],
        ),
        (
            notification_table(page(NOTIFICATION), AT),
            ["ID", "Channel", "Status", "Retry", "Last error"],
            [NOTIFICATION["id"], "Webhook", "dead", "5/5", "Webhook answered HTTP 503"],
        ),
        (
            agent_table(page(AGENT), AT),
            ["ID", "Name", "Hostname", "Status", "Last seen"],
            ["ag-edge-01", "edge-01", AGENT["hostname"], "Degraded", "3 min ago"],
        ),
        (
            policy_table(page(POLICY)),
            ["ID", "Name", "Renewal window", "Auto-renew", "Thresholds (days)"],
            ["rp-critical", "Customer facing, page on-call", "30 d", "yes", "30, 14, 7, 1, 0"],
        ),
        (
            audit_table(page(EVENT), AT),
            ["Action", "Resource"],
            ["notification_dead_lettered", f"notification/{EVENT['resource_id']}"],
        ),
    ],
    ids=["certs", "notifications", "agents", "policies", "audit"],
)
def test_list_tables_at_80_columns_show_whole_values(
    table: Table, shown: list[str], row: list[str]
) -> None:
    """Each list table at 80 columns keeps these columns, with no value cut or blanked."""
    text = printed(table, 80)
    assert headers(text) == shown
    assert cells(text) == [row]
    assert "…" not in text
