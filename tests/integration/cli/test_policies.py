"""`certctl policies …`: list, get and set-matrix."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from .conftest import Cli, fields, rows


@pytest.fixture
async def policy(api: httpx.AsyncClient) -> str:
    """A renewal policy with the default thresholds and matrix."""
    response = await api.post("/api/v1/renewal-policies", json={"id": "rp-web", "name": "web"})
    assert response.status_code == 201, response.text
    return "rp-web"


async def test_list_json_and_table(cli: Cli, api: httpx.AsyncClient, policy: str) -> None:
    """The JSON is the API's list; the table shows window, auto-renew and thresholds."""
    as_json = await cli("policies", "list", "--output", "json", role="viewer")
    assert as_json.json() == (await api.get("/api/v1/renewal-policies")).json()
    table = await cli("policies", "list", role="viewer")
    assert rows(table.stdout) == [[policy, "web", "30 d", "yes", "30, 14, 7, 0"]]


async def test_get_shows_the_effective_matrix(cli: Cli, policy: str) -> None:
    """Without a matrix of its own a policy alerts by the default tiers, by Email."""
    run = await cli("policies", "get", policy, role="viewer")
    matrix = [r for r in rows(run.stdout) if len(r) == 3]
    assert matrix == [
        ["30 d", "informational", "Email"],
        ["14 d", "warning", "Email"],
        ["7 d", "warning", "Email"],
        ["0 d", "critical", "Email"],
    ]


async def test_set_matrix_from_options(cli: Cli, api: httpx.AsyncClient, policy: str) -> None:
    """Thresholds, their tiers and each tier's channels are PATCHed together."""
    run = await cli(
        "policies", "set-matrix", policy,
        "--threshold", "30=warning", "--threshold", "7=critical",
        "--channel", "warning=Email,Slack", "--channel", "critical=PagerDuty",
        "--output", "json",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    stored = (await api.get(f"/api/v1/renewal-policies/{policy}")).json()
    assert run.json() == stored
    assert stored["alert_thresholds_days"] == [30, 7]
    assert stored["alert_severity_map"] == {"30": "warning", "7": "critical"}
    assert stored["alert_channels"] == {"warning": ["Email", "Slack"], "critical": ["PagerDuty"]}


async def test_set_matrix_prints_the_new_matrix(cli: Cli, policy: str) -> None:
    """The table after the change shows each threshold's tier and channels."""
    run = await cli(
        "policies", "set-matrix", policy, "--threshold", "21=warning", "--threshold", "3=critical",
        "--channel", "warning=Slack", "--channel", "critical=PagerDuty,Email",
    )  # fmt: skip
    matrix = [r for r in rows(run.stdout) if len(r) == 3]
    assert matrix == [["21 d", "warning", "Slack"], ["3 d", "critical", "PagerDuty, Email"]]


async def test_set_matrix_from_a_file(
    cli: Cli, api: httpx.AsyncClient, policy: str, tmp_path: Path
) -> None:
    """--file sends the three matrix fields as written."""
    matrix = {
        "alert_thresholds_days": [14, 0],
        "alert_severity_map": {"14": "warning", "0": "critical"},
        "alert_channels": {"warning": ["Teams"], "critical": ["OpsGenie", "Email"]},
    }
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps(matrix))
    run = await cli("policies", "set-matrix", policy, "--file", str(path))
    assert run.code == 0, run.stderr
    stored = (await api.get(f"/api/v1/renewal-policies/{policy}")).json()
    assert {k: stored[k] for k in matrix} == matrix


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "soon=critical"], "--threshold expects DAYS=TIER, e.g. 7=critical, got 'soon=critical'"),
        (["--threshold", "7"], "--threshold expects DAYS=TIER, e.g. 7=critical, got '7'"),
        (["--threshold", "7=warning", "--threshold", "7=critical"], "--threshold 7 is given twice"),
        (["--channel", "critical"], "--channel expects TIER=CHANNEL[,CHANNEL…], e.g. critical=Email, got 'critical'"),
        ([], "nothing to set: give --threshold, --channel or --file"),
    ],
)  # fmt: skip
async def test_set_matrix_refuses_bad_options(
    cli: Cli, policy: str, args: list[str], message: str
) -> None:
    """Malformed options stop the command before any call, with one line and exit code 2."""
    run = await cli("policies", "set-matrix", policy, *args)
    assert (run.code, run.stderr) == (2, f"error: {message}\n")


async def test_set_matrix_file_and_options_exclude_each_other(
    cli: Cli, policy: str, tmp_path: Path
) -> None:
    """--file cannot be combined with --threshold or --channel."""
    path = tmp_path / "m.json"
    path.write_text("{}")
    run = await cli(
        "policies", "set-matrix", policy, "--file", str(path), "--threshold", "1=warning"
    )
    assert (run.code, run.stderr) == (2, "error: give --file or --threshold/--channel, not both\n")


async def test_set_matrix_file_must_hold_matrix_fields(
    cli: Cli, policy: str, tmp_path: Path
) -> None:
    """A file with other fields is refused before any call."""
    path = tmp_path / "m.json"
    path.write_text('{"renewal_window_days": 5}')
    run = await cli("policies", "set-matrix", policy, "--file", str(path))
    assert (run.code, run.stderr) == (
        2,
        f"error: {path} must be a JSON object with any of: "
        "alert_thresholds_days, alert_severity_map, alert_channels\n",
    )


async def test_set_matrix_unknown_channel_is_the_api_400(cli: Cli, policy: str) -> None:
    """The server validates tiers and channels; its refusal is one line."""
    run = await cli("policies", "set-matrix", policy, "--channel", "critical=Pager")
    assert run.code == 1
    assert run.stderr.startswith("error: Invalid request (HTTP 400): ")
    assert "unknown channel 'Pager'" in run.stderr
    assert len(run.stderr.splitlines()) == 1


async def test_get_shows_the_escalation(cli: Cli, api: httpx.AsyncClient, policy: str) -> None:
    """`policies get` shows the escalation delay and channels, or a dash without one."""
    assert fields((await cli("policies", "get", policy, role="viewer")).stdout)["Escalation"] == "—"
    await api.patch(
        f"/api/v1/renewal-policies/{policy}",
        json={"escalation_after_minutes": 30, "escalation_channels": ["PagerDuty", "Slack"]},
    )
    shown = fields((await cli("policies", "get", policy, role="viewer")).stdout)
    assert shown["Escalation"] == "after 30 min to PagerDuty, Slack"
