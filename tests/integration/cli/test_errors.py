"""Every failure ends a client command with exit code 1 and one `error: …` line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from certctl.cli.client_cmds.session import overridden
from certctl.testing.postgres import free_port

from .conftest import Cli, invoke


@pytest.mark.parametrize(
    "args",
    [
        ["certs", "list"],
        ["jobs", "list"],
        ["status", "--output", "json"],
        ["certs", "revoke", "mc-1", "--reason", "superseded"],
    ],
)
async def test_a_wrong_key_is_a_one_line_401(cli: Cli, args: list[str]) -> None:
    """The server's 401 problem is printed as title, status and detail on one line."""
    run = await cli(*args, "--api-key", "not-a-key-at-all-0000")
    assert (run.code, run.stdout) == (1, "")
    assert run.stderr == "error: Authentication required (HTTP 401): the API key is not valid\n"


async def test_a_missing_key_says_how_to_send_one(cli: Cli) -> None:
    """Without any key the detail names the header to send."""
    run = await cli("certs", "list", role=None)
    assert (run.code, run.stdout) == (1, "")
    assert run.stderr == (
        "error: Authentication required (HTTP 401): "
        "send the API key as 'Authorization: Bearer <key>'\n"
    )


async def test_a_read_only_key_cannot_write(cli: Cli) -> None:
    """A viewer's revoke is the API's 403, on one line."""
    run = await cli("certs", "revoke", "mc-1", "--reason", "superseded", role="viewer")
    assert run.code == 1
    assert run.stderr.startswith("error: Forbidden (HTTP 403): ")
    assert len(run.stderr.splitlines()) == 1


async def test_connection_refused_is_one_line() -> None:
    """Nothing listening on the port: exit 1 and `cannot reach URL: reason`."""
    url = f"http://127.0.0.1:{free_port()}"
    env = {"CERTCTL_SERVER_URL": url, "CERTCTL_API_KEY": "any-key-000000000000"}
    run = await asyncio.to_thread(invoke, ["certs", "list"], env)
    assert (run.code, run.stdout) == (1, "")
    assert run.stderr.startswith(f"error: cannot reach {url}: ")
    assert len(run.stderr.splitlines()) == 1


async def test_an_unusable_ca_bundle_is_one_line(tmp_path: Path) -> None:
    """A --ca-bundle that holds no certificate stops the command before any call."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n")
    env = {"CERTCTL_SERVER_URL": "https://127.0.0.1:1"}
    run = await asyncio.to_thread(invoke, ["status", "--ca-bundle", str(bundle)], env)
    assert run.code == 1
    assert run.stderr.startswith(f"error: cannot use CA bundle {bundle}: ")
    assert len(run.stderr.splitlines()) == 1


@asynccontextmanager
async def _answering(
    status: int, content_type: str, body: bytes
) -> AsyncIterator[httpx.MockTransport]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"content-type": content_type}, content=body)

    yield httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("status", "content_type", "body", "line"),
    [
        (
            502,
            "text/html",
            b"<html>\n<body>Bad gateway</body>\n</html>",
            "error: Bad Gateway (HTTP 502): <html> <body>Bad gateway</body> </html>\n",
        ),
        (
            200,
            "text/html",
            b"<html>login page</html>",
            "error: Unexpected answer (HTTP 200): expected JSON from the certctl API, got text/html\n",
        ),
    ],
)
def test_an_answer_from_something_else_is_one_line(
    status: int, content_type: str, body: bytes, line: str
) -> None:
    """A proxy's HTML page, error or not, ends the command with one readable line."""
    with overridden(transport=lambda: _answering(status, content_type, body)):
        run = invoke(["certs", "list"], {"CERTCTL_SERVER_URL": "http://certctl.test"})
    assert (run.code, run.stdout, run.stderr) == (1, "", line)


def test_a_server_url_without_scheme_is_one_line() -> None:
    """`--server host:port` names the missing scheme instead of failing with a traceback."""
    run = invoke(["status", "--server", "certctl.example.com:8443"], {})
    assert run.code == 1
    assert run.stderr.startswith("error: cannot reach certctl.example.com:8443: ")
    assert len(run.stderr.splitlines()) == 1
