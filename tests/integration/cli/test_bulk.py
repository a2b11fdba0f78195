"""`certctl certs bulk-revoke` and `bulk-renew`: selection, confirmation, summary."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import Cli, import_cert, lines, rows


async def _estate(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    return [
        await import_cert(api, "a.example.com", days_left=60, environment="staging"),
        await import_cert(api, "b.example.com", days_left=10, environment="staging"),
        await import_cert(api, "c.example.com", days_left=90, environment="prod"),
    ]


async def _statuses(api: httpx.AsyncClient) -> list[str]:
    listed = (await api.get("/api/v1/certificates?sort=name")).json()["data"]
    return [c["status"] for c in listed]


async def test_bulk_revoke_by_criteria(cli: Cli, api: httpx.AsyncClient) -> None:
    """Every matching certificate is revoked; the JSON summary is the API's answer."""
    await _estate(api)
    run = await cli(
        "certs", "bulk-revoke", "--reason", "superseded", "--status", "Active",
        "--status", "Expiring", "--environment", "staging", "--yes", "--output", "json",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.json() == {
        "total_matched": 2,
        "total_enqueued": 2,
        "total_skipped": 0,
        "total_failed": 0,
        "errors": [],
    }
    assert await _statuses(api) == ["Revoked", "Revoked", "Active"]


async def test_bulk_revoke_by_id_prints_a_summary_table(cli: Cli, api: httpx.AsyncClient) -> None:
    """--id selects exactly those certificates; the table counts them."""
    a, _, c = await _estate(api)
    run = await cli(
        "certs", "bulk-revoke", "--reason", "cessationOfOperation", "--id", a["id"],
        "--id", c["id"], "--yes",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert rows(run.stdout) == [["2", "2", "0", "0"]]
    assert await _statuses(api) == ["Revoked", "Expiring", "Revoked"]


async def test_bulk_revoke_asks_first(cli: Cli, api: httpx.AsyncClient) -> None:
    """Without --yes the command asks; answering no changes nothing and exits 1."""
    await _estate(api)
    run = await cli("certs", "bulk-revoke", "--reason", "superseded", "--q", "a.", stdin="n\n")
    assert run.code == 1
    assert "Revoke certificates with q=a.?" in run.stdout
    assert run.stderr == "error: cancelled, nothing changed\n"
    assert await _statuses(api) == ["Active", "Expiring", "Active"]


async def test_bulk_revoke_proceeds_on_yes(cli: Cli, api: httpx.AsyncClient) -> None:
    """Answering yes to the question runs the revocation."""
    await _estate(api)
    run = await cli("certs", "bulk-revoke", "--reason", "superseded", "--q", "a.", stdin="y\n")
    assert run.code == 0, run.stderr
    assert await _statuses(api) == ["Revoked", "Expiring", "Active"]


async def test_bulk_without_a_selection_is_refused(cli: Cli, api: httpx.AsyncClient) -> None:
    """No --id and no filter would select everything: refused before any call."""
    await _estate(api)
    run = await cli("certs", "bulk-revoke", "--reason", "superseded", "--yes")
    assert (run.code, run.stderr) == (
        2,
        "error: choose certificates with --id or at least one filter\n",
    )
    assert await _statuses(api) == ["Active", "Expiring", "Active"]


async def test_bulk_revoke_needs_an_admin(cli: Cli, api: httpx.AsyncClient) -> None:
    """An operator key gets the API's 403 on one line."""
    await _estate(api)
    run = await cli(
        "certs", "bulk-revoke", "--reason", "superseded", "--status", "Active", "--yes",
        role="operator",
    )  # fmt: skip
    assert run.code == 1
    assert run.stderr.startswith("error: Forbidden (HTTP 403): ")
    assert len(run.stderr.splitlines()) == 1


async def test_bulk_renew_reports_failures_and_exits_1(cli: Cli, api: httpx.AsyncClient) -> None:
    """A certificate that cannot be renewed is listed with its reason; the others are queued."""
    a, b, _ = await _estate(api)
    await api.post("/api/v1/issuers", json={"id": "iss-1", "name": "Local", "type": "GenericCA"})
    await api.patch(f"/api/v1/certificates/{a['id']}", json={"issuer_id": "iss-1"})
    run = await cli("certs", "bulk-renew", "--environment", "staging", role="operator")
    assert run.code == 1
    assert run.stderr.splitlines()[-1] == "error: 1 of 2 certificates failed"
    table = rows(run.stdout)
    assert table[0] == ["2", "1", "0", "1"]
    assert table[1] == [b["id"], "the certificate has no issuer to renew it with"]
    assert "Failures" in lines(run.stdout)
    jobs = (await api.get("/api/v1/jobs")).json()["data"]
    assert [(j["certificate_id"], j["type"]) for j in jobs] == [(a["id"], "Renewal")]


async def test_bulk_renew_json_is_the_api_answer(cli: Cli, api: httpx.AsyncClient) -> None:
    """`--output json` prints the bulk summary as the API sent it."""
    a, _, _ = await _estate(api)
    await api.post("/api/v1/issuers", json={"id": "iss-1", "name": "Local", "type": "GenericCA"})
    await api.patch(f"/api/v1/certificates/{a['id']}", json={"issuer_id": "iss-1"})
    run = await cli("certs", "bulk-renew", "--id", a["id"], "--output", "json")
    assert run.code == 0, run.stderr
    assert run.json() == {
        "total_matched": 1,
        "total_enqueued": 1,
        "total_skipped": 0,
        "total_failed": 0,
        "errors": [],
    }
