"""`certctl owners list|show|create|update` against the app, the digest setting above all."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from certctl.testing.keys import KEYS

from .conftest import Cli, LiveServer, fields, invoke, rows


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Unlike the other CLI tests these run on both databases: the digest is a stored column."""
    return str(request.param)


async def test_create_with_a_digest_then_list_and_show(cli: Cli, api: httpx.AsyncClient) -> None:
    """`create --digest weekly` stores it; `list` and `show` print it."""
    team = (await api.post("/api/v1/teams", json={"id": "t-pay", "name": "Pay"})).json()
    made = await cli(
        "owners",
        "create",
        "--id",
        "o-ada",
        "--name",
        "Ada",
        "--email",
        "ada@example.com",
        "--team",
        team["id"],
        "--digest",
        "weekly",
        "--output",
        "json",
        role="operator",
    )
    assert made.code == 0, made.stderr
    assert (made.json()["id"], made.json()["digest"]) == ("o-ada", "weekly")
    assert (await api.get("/api/v1/owners/o-ada")).json()["digest"] == "weekly"
    listed = await cli("owners", "list", role="viewer")
    assert rows(listed.stdout) == [["o-ada", "Ada", "ada@example.com", "t-pay", "weekly"]]
    shown = fields((await cli("owners", "show", "o-ada", role="viewer")).stdout)
    assert (shown["Name"], shown["Email"], shown["Team"], shown["Digest"]) == (
        "Ada",
        "ada@example.com",
        "t-pay",
        "weekly",
    )


async def test_create_without_a_digest_means_off(cli: Cli) -> None:
    """An owner created without --digest gets no digest."""
    made = await cli(
        "owners", "create", "--name", "Bo", "--email", "bo@example.com", "--output", "json"
    )
    assert (made.code, made.json()["digest"]) == (0, "off")


async def test_update_changes_only_the_digest(cli: Cli, api: httpx.AsyncClient) -> None:
    """`update --digest daily` changes the digest and leaves name and e-mail as they were."""
    await api.post(
        "/api/v1/owners", json={"id": "o-ada", "name": "Ada", "email": "ada@example.com"}
    )
    run = await cli("owners", "update", "o-ada", "--digest", "daily", role="operator")
    assert run.code == 0, run.stderr
    shown = fields(run.stdout)
    assert (shown["Name"], shown["Email"], shown["Digest"]) == ("Ada", "ada@example.com", "daily")
    stored = (await api.get("/api/v1/owners/o-ada")).json()
    assert (stored["name"], stored["digest"]) == ("Ada", "daily")


async def test_a_bad_digest_is_refused_naming_the_option(cli: Cli, api: httpx.AsyncClient) -> None:
    """`--digest hourly` exits 2 naming --digest and its allowed values; nothing is created."""
    run = await cli(
        "owners", "create", "--name", "Ada", "--email", "ada@example.com", "--digest", "hourly"
    )
    assert run.code == 2
    said = " ".join(run.stderr.replace("│", " ").split())
    refusal = (
        "Invalid value for '--digest': Value error, "
        "'hourly' is not one of 'off', 'daily', 'weekly'."
    )
    assert refusal in said
    assert (await api.get("/api/v1/owners")).json()["total"] == 0


async def test_update_with_nothing_to_change_is_refused(cli: Cli) -> None:
    """`update` without any field exits 2 with one line saying what to give."""
    run = await cli("owners", "update", "o-ada")
    assert (run.code, run.stderr) == (
        2,
        "error: nothing to change: give --name, --email, --team or --digest\n",
    )


async def test_update_of_an_unknown_owner_is_a_404(cli: Cli) -> None:
    """The server's 404 ends the command with exit 1 and its reason."""
    run = await cli("owners", "update", "o-nobody", "--digest", "daily")
    assert run.code == 1
    assert run.stderr.startswith("error: Not found (HTTP 404)")


def test_digest_over_http_against_a_live_server(live_server: LiveServer, tmp_path: Path) -> None:
    """Over real HTTP, `create --digest daily` then `update --digest off` are what the API
    then answers, and `list --output json` equals the API's page."""
    env = {"CERTCTL_SERVER_URL": live_server.url, "CERTCTL_API_KEY": KEYS["operator"]}
    create = ["owners", "create", "--name", "Ada", "--email", "ada@example.com"]
    made = invoke([*create, "--digest", "daily", "--output", "json"], env)
    assert made.code == 0, made.stderr
    owner_id = made.json()["id"]
    headers = {"Authorization": f"Bearer {KEYS['viewer']}"}
    url = f"{live_server.url}/api/v1/owners"
    assert httpx.get(f"{url}/{owner_id}", headers=headers, timeout=10).json()["digest"] == "daily"
    changed = invoke(["owners", "update", owner_id, "--digest", "off", "--output", "json"], env)
    assert (changed.code, changed.json()["digest"]) == (0, "off")
    listed = invoke(["owners", "list", "--output", "json"], env)
    assert listed.json() == httpx.get(url, headers=headers, timeout=10).json()
    assert [o["digest"] for o in listed.json()["data"]] == ["off"]
