"""`certctl certs …` against the app in process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from certctl.bootstrap import AppContext
from certctl.domain.renewal_info import RenewalInfoState, SuggestedWindow

from .conftest import Cli, fields, import_cert, leaf_pem, lines, rows


async def _two_certs(api: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    web = await import_cert(api, "web.example.com", days_left=60, environment="prod")
    vpn = await import_cert(api, "vpn.example.com", days_left=12, environment="staging")
    return web, vpn


async def _names(cli: Cli, *args: str) -> list[str]:
    run = await cli("certs", "list", "--output", "json", *args, role="viewer")
    assert run.code == 0, run.stderr
    return [c["name"] for c in run.json()["data"]]


async def test_list_json_is_the_api_answer(cli: Cli, api: httpx.AsyncClient) -> None:
    """`--output json` prints exactly what GET /certificates answers."""
    await _two_certs(api)
    run = await cli("certs", "list", "--output", "json", role="viewer")
    assert run.code == 0, run.stderr
    assert run.json() == (await api.get("/api/v1/certificates")).json()


async def test_list_table_shows_status_and_relative_expiry(
    cli: Cli, api: httpx.AsyncClient
) -> None:
    """The table has one row per certificate with its status, `in N d` and the date."""
    web, vpn = await _two_certs(api)
    run = await cli("certs", "list", role="viewer")
    assert run.code == 0, run.stderr
    assert rows(run.stdout) == [
        [vpn["id"], "vpn.example.com", "Expiring", "staging", "in 12 d", "2026-06-13"],
        [web["id"], "web.example.com", "Active", "prod", "in 60 d", "2026-07-31"],
    ]
    assert lines(run.stdout)[-1] == "page 1 of 1 · 2 total"


async def test_list_says_when_nothing_matches(cli: Cli) -> None:
    """An empty page prints `nothing found` and the footer, no empty table."""
    run = await cli("certs", "list", role="viewer")
    assert (run.code, lines(run.stdout)) == (0, ["nothing found", "page 1 of 1 · 0 total"])


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--status", "Expiring"], ["vpn.example.com"]),
        (["--status", "Expiring", "--status", "Active"], ["vpn.example.com", "web.example.com"]),
        (["--environment", "prod"], ["web.example.com"]),
        (["--q", "vpn"], ["vpn.example.com"]),
        (["--expires-before", "30d"], ["vpn.example.com"]),
        (["--expires-before", "2026-07-01"], ["vpn.example.com"]),
        (["--sort", "-expires_at"], ["web.example.com", "vpn.example.com"]),
        (["--expires-within", "30"], ["vpn.example.com"]),
        (["--expires-within", "90"], ["vpn.example.com", "web.example.com"]),
        (["--page", "2", "--per-page", "1"], ["web.example.com"]),
    ],
)
async def test_list_passes_filters_sort_and_paging(
    cli: Cli, api: httpx.AsyncClient, args: list[str], names: list[str]
) -> None:
    """Each option reaches the API as its query parameter."""
    await _two_certs(api)
    assert await _names(cli, *args) == names


async def test_list_filters_by_owner_and_team(cli: Cli, api: httpx.AsyncClient) -> None:
    """--owner and --team select by the owning ids."""
    team = (await api.post("/api/v1/teams", json={"name": "Platform"})).json()
    owner = (
        await api.post("/api/v1/owners", json={"name": "Ada", "email": "ada@example.com"})
    ).json()
    await _two_certs(api)
    await import_cert(
        api, "owned.example.com", days_left=90, owner_id=owner["id"], team_id=team["id"]
    )
    names = await _names(cli, "--owner", owner["id"], "--team", team["id"])
    assert names == ["owned.example.com"]


async def test_list_refuses_an_unreadable_date(cli: Cli) -> None:
    """A bad --expires-before stops the command with one line and exit code 2."""
    run = await cli("certs", "list", "--expires-before", "next week")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == (
        "error: --expires-before expects an ISO 8601 date or time, or Nd (days from now)\n"
    )


async def test_list_refuses_a_window_out_of_range(cli: Cli) -> None:
    """--expires-within 0 is refused before any request, naming the option (exit code 2)."""
    run = await cli("certs", "list", "--expires-within", "0")
    assert (run.code, run.stdout) == (2, "")
    assert "--expires-within" in run.stderr


async def test_route_shows_each_threshold_and_channel(cli: Cli, api: httpx.AsyncClient) -> None:
    """`certs route` prints the default policy's four thresholds, Email each, to the owner."""
    owner = (
        await api.post("/api/v1/owners", json={"name": "Ada", "email": "ada@example.com"})
    ).json()
    cert = await import_cert(api, "owned.example.com", days_left=20, owner_id=owner["id"])
    run = await cli("certs", "route", cert["id"], role="viewer")
    assert run.code == 0, run.stderr
    assert [r[:3] for r in rows(run.stdout)] == [
        ["T-30", "informational", "Email"],
        ["T-14", "warning", "Email"],
        ["T-7", "warning", "Email"],
        ["T-0", "critical", "Email"],
    ]
    json_run = await cli("certs", "route", cert["id"], "--output", "json", role="viewer")
    answer = (await api.get(f"/api/v1/certificates/{cert['id']}/alert-route")).json()
    assert json_run.json() == answer


async def test_get_json_is_the_api_answer(cli: Cli, api: httpx.AsyncClient) -> None:
    """`certs get ID --output json` prints GET /certificates/ID."""
    web, _ = await _two_certs(api)
    run = await cli("certs", "get", web["id"], "--output", "json", role="viewer")
    assert run.json() == (await api.get(f"/api/v1/certificates/{web['id']}")).json()


async def test_get_table_lists_the_fields(cli: Cli, api: httpx.AsyncClient) -> None:
    """The details table shows SANs, status, source and the expiry with its distance."""
    web, _ = await _two_certs(api)
    run = await cli("certs", "get", web["id"], role="viewer")
    shown = fields(run.stdout)
    assert (shown["ID"], shown["Name"], shown["Status"], shown["Source"]) == (
        web["id"],
        "web.example.com",
        "Active",
        "import",
    )
    assert shown["Expires"] == "2026-07-31 12:00 UTC (in 60 d)"
    assert (shown["SANs"], shown["Owner"], shown["Revoked"]) == ("web.example.com", "—", "—")


async def test_versions_json_is_the_api_answer(cli: Cli, api: httpx.AsyncClient) -> None:
    """`certs versions ID --output json` prints the API's versions envelope."""
    cert = await import_cert(api, "web.example.com", days_left=60)
    run = await cli("certs", "versions", cert["id"], "--output", "json", role="viewer")
    answer = (await api.get(f"/api/v1/certificates/{cert['id']}/versions")).json()
    assert run.code == 0
    assert run.json() == answer
    assert (answer["total"], answer["page"], answer["per_page"]) == (1, 1, 50)


async def test_versions_table_row(cli: Cli, api: httpx.AsyncClient) -> None:
    """A version row shows id, serial, validity dates and key."""
    cert = await import_cert(api, "web.example.com", days_left=60)
    [version] = (await api.get(f"/api/v1/certificates/{cert['id']}/versions")).json()["data"]
    run = await cli("certs", "versions", cert["id"], role="viewer")
    assert rows(run.stdout) == [
        [
            version["id"],
            version["serial_number"],
            version["not_before"][:10],
            version["not_after"][:10],
            f"{version['key_algorithm']} {version['key_size']}",
        ]
    ]


async def test_get_unknown_is_a_one_line_404(cli: Cli) -> None:
    """A missing certificate exits 1 with the problem's title, status and detail."""
    run = await cli("certs", "get", "mc-nope")
    assert (run.code, run.stdout) == (1, "")
    assert run.stderr == "error: Not found (HTTP 404): certificate 'mc-nope' not found\n"


def _pem_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "pems"
    folder.mkdir()
    (folder / "a-web.pem").write_text(leaf_pem("web.example.com", days_left=60))
    (folder / "b-vpn.crt").write_text(leaf_pem("vpn.example.com", days_left=12))
    (folder / "c-broken.pem").write_text("not a certificate\n")
    (folder / "notes.txt").write_text(leaf_pem("ignored.example.com", days_left=5))
    return folder


async def test_import_folder_reports_created_and_failed(
    cli: Cli, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Every *.pem and *.crt is imported; a bad file fails alone and the exit code is 1."""
    folder = _pem_folder(tmp_path)
    run = await cli("certs", "import", str(folder), "--environment", "lab", "--output", "json")
    assert run.code == 1
    assert run.stderr.splitlines()[-1] == "error: 1 of 3 files were not imported"
    summary = run.json()
    created = [(Path(c["file"]).name, c["certificate"]["name"]) for c in summary["created"]]
    assert created == [("a-web.pem", "web.example.com"), ("b-vpn.crt", "vpn.example.com")]
    assert [c["certificate"]["environment"] for c in summary["created"]] == ["lab", "lab"]
    [failed] = summary["failed"]
    assert (Path(failed["file"]).name, failed["status"]) == ("c-broken.pem", 400)
    assert failed["detail"].startswith("Invalid request (HTTP 400): ")
    listed = (await api.get("/api/v1/certificates?sort=name")).json()["data"]
    assert [c["id"] for c in listed] == [
        summary["created"][1]["certificate"]["id"],
        summary["created"][0]["certificate"]["id"],
    ]


async def test_import_table_summarises(cli: Cli, tmp_path: Path) -> None:
    """In table mode each file gets a row and a count line closes the summary."""
    folder = _pem_folder(tmp_path)
    run = await cli("certs", "import", str(folder))
    table = rows(run.stdout)
    assert [r[:2] for r in table] == [
        ["a-web.pem", "created"],
        ["b-vpn.crt", "created"],
        ["c-broken.pem", "failed"],
    ]
    assert [r[3] for r in table[:2]] == ["web.example.com", "vpn.example.com"]
    assert "2 created, 0 skipped, 1 failed" in lines(run.stdout)


async def test_import_one_file_with_owner_fields(
    cli: Cli, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A single file is imported with the given team and renewal policy."""
    team = (await api.post("/api/v1/teams", json={"name": "Edge"})).json()
    await api.post("/api/v1/renewal-policies", json={"id": "rp-edge", "name": "edge"})
    pem = tmp_path / "edge.pem"
    pem.write_text(leaf_pem("edge.example.com", days_left=40))
    run = await cli(
        "certs", "import", str(pem), "--team", team["id"], "--policy", "rp-edge",
        "--output", "json",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    cert = run.json()["created"][0]["certificate"]
    assert (cert["team_id"], cert["renewal_policy_id"]) == (team["id"], "rp-edge")


async def test_import_empty_folder_is_refused(cli: Cli, tmp_path: Path) -> None:
    """A folder without certificates is a usage error."""
    run = await cli("certs", "import", str(tmp_path))
    assert (run.code, run.stderr) == (
        2,
        f"error: no *.pem, *.crt or *.cer files in {tmp_path}\n",
    )


async def test_revoke_answers_the_revoked_certificate(cli: Cli, api: httpx.AsyncClient) -> None:
    """`certs revoke ID --reason` revokes with that RFC 5280 reason."""
    web, _ = await _two_certs(api)
    run = await cli(
        "certs", "revoke", web["id"], "--reason", "keyCompromise", "--output", "json",
        role="operator",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    cert = run.json()
    assert (cert["status"], cert["revocation_reason"]) == ("Revoked", "keyCompromise")
    assert cert == (await api.get(f"/api/v1/certificates/{web['id']}")).json()


async def test_revoke_table_shows_when_and_why(cli: Cli, api: httpx.AsyncClient) -> None:
    """The table after a revocation shows the status and the reason."""
    web, _ = await _two_certs(api)
    run = await cli("certs", "revoke", web["id"], "--reason", "superseded")
    shown = fields(run.stdout)
    assert (shown["Status"], shown["Revoked"]) == (
        "Revoked",
        "2026-06-01 12:00 UTC (now), superseded",
    )


async def test_revoke_with_an_unknown_reason_is_refused(cli: Cli, api: httpx.AsyncClient) -> None:
    """The server's 400 is printed on one line; the certificate stays active."""
    web, _ = await _two_certs(api)
    run = await cli("certs", "revoke", web["id"], "--reason", "oops")
    assert run.code == 1
    assert run.stderr.startswith(
        "error: Invalid request (HTTP 400): unknown revocation reason 'oops'; allowed: "
    )
    assert len(run.stderr.splitlines()) == 1
    assert (await api.get(f"/api/v1/certificates/{web['id']}")).json()["status"] == "Active"


async def _renewable(api: httpx.AsyncClient, cert_id: str) -> None:
    issuer = await api.post(
        "/api/v1/issuers", json={"id": "iss-local", "name": "Local", "type": "GenericCA"}
    )
    assert issuer.status_code in (201, 409), issuer.text
    patched = await api.patch(f"/api/v1/certificates/{cert_id}", json={"issuer_id": "iss-local"})
    assert patched.status_code == 200, patched.text


async def test_renew_queues_a_renewal_job(cli: Cli, api: httpx.AsyncClient) -> None:
    """`certs renew ID` answers the new job, as GET /jobs/ID shows it."""
    web, _ = await _two_certs(api)
    await _renewable(api, web["id"])
    run = await cli("certs", "renew", web["id"], "--output", "json", role="operator")
    assert run.code == 0, run.stderr
    job = run.json()
    assert (job["type"], job["status"], job["certificate_id"]) == (
        "Renewal",
        "Pending",
        web["id"],
    )
    assert job["requested_by"] == "operator-user"
    assert job == (await api.get(f"/api/v1/jobs/{job['id']}")).json()


async def test_deploy_queues_one_job_per_target(cli: Cli, api: httpx.AsyncClient) -> None:
    """`certs deploy ID` answers the queued Deployment jobs, as the API lists them."""
    target = (await api.post("/api/v1/targets", json={"name": "edge", "type": "NGINX"})).json()
    web = await import_cert(api, "web.example.com", days_left=60)
    mapped = await api.patch(
        f"/api/v1/certificates/{web['id']}", json={"target_ids": [target["id"]]}
    )
    assert mapped.status_code == 200, mapped.text
    run = await cli("certs", "deploy", web["id"], "--output", "json", role="operator")
    assert run.code == 0, run.stderr
    jobs = run.json()["jobs"]
    assert [(j["type"], j["status"], j["target_id"]) for j in jobs] == [
        ("Deployment", "Pending", target["id"])
    ]
    table = await cli("certs", "deploy", web["id"], role="operator")
    assert table.code == 0, table.stderr
    assert rows(table.stdout) == []


async def test_renew_table_names_the_job(cli: Cli, api: httpx.AsyncClient) -> None:
    """The table mode shows the queued job's id, type and status."""
    web, _ = await _two_certs(api)
    await _renewable(api, web["id"])
    run = await cli("certs", "renew", web["id"])
    [job] = (await api.get("/api/v1/jobs")).json()["data"]
    assert lines(run.stdout)[0] == f"Renewal queued {job['id']}"
    shown = fields(run.stdout)
    assert (shown["Type"], shown["Status"], shown["Certificate"]) == (
        "Renewal",
        "Pending",
        web["id"],
    )


async def test_get_table_shows_the_acme_renewal_window(
    cli: Cli, api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """`certs get` shows the stored ARI window, the chosen moment, the next check and error."""
    cert = await import_cert(api, "web.example.com", days_left=60)
    now = ctx.runtime.clock.now()
    window = SuggestedWindow(now + timedelta(days=10), now + timedelta(days=12), "https://ca/why")
    state = RenewalInfoState(
        cert["id"], "a.b", now, now + timedelta(hours=6), window, now + timedelta(days=11)
    )
    async with ctx.runtime.db.uow() as uow:
        await uow.renewal_info.save(state)
    run = await cli("certs", "get", cert["id"], role="viewer")
    shown = fields(run.stdout)
    assert shown["ARI window"] == (
        "2026-06-11 12:00 UTC (in 10 d) to 2026-06-13 12:00 UTC (in 12 d)"
    )
    assert shown["ARI explanation"] == "https://ca/why"
    assert shown["ARI renew at"] == "2026-06-12 12:00 UTC (in 11 d)"
    assert shown["ARI next check"].startswith("2026-06-01 18:00 UTC")
    assert shown["ARI last error"] == "—"


async def test_get_table_has_no_ari_rows_without_a_check(cli: Cli, api: httpx.AsyncClient) -> None:
    """A certificate whose CA was never asked shows no ARI rows."""
    cert = await import_cert(api, "web.example.com", days_left=60)
    run = await cli("certs", "get", cert["id"], role="viewer")
    assert [name for name in fields(run.stdout) if name.startswith("ARI")] == []


async def test_route_why_names_the_override(cli: Cli, api: httpx.AsyncClient) -> None:
    """`certs route --why` shows per tier the team override deciding Email, and its JSON is
    GET /certificates/{id}/route."""
    team = (await api.post("/api/v1/teams", json={"name": "Pay"})).json()
    cert = await import_cert(api, "pay.example.com", days_left=20)
    await api.patch(f"/api/v1/certificates/{cert['id']}", json={"team_id": team["id"]})
    created = await api.post(
        "/api/v1/route-overrides",
        json={
            "name": "pay mail",
            "channel": "Email",
            "team_id": team["id"],
            "config": {"recipients": ["pay-oncall@example.com"]},
        },
    )
    assert created.status_code == 201, created.text
    run = await cli("certs", "route", cert["id"], "--why", role="viewer")
    assert [r[:5] for r in rows(run.stdout)] == [
        ["informational", "T-30", "Email", "pay-oncall@example.com", "override"],
        ["warning", "T-14, T-7", "Email", "pay-oncall@example.com", "override"],
        ["critical", "T-0", "Email", "pay-oncall@example.com", "override"],
    ]
    json_run = await cli("certs", "route", cert["id"], "--why", "--output", "json")
    assert json_run.json() == (await api.get(f"/api/v1/certificates/{cert['id']}/route")).json()
