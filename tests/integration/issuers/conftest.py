"""Fixtures of the ACME tests: pebble on loopback, certctl's challenge route served over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.services.jobs import JobService
from certctl.settings import Settings
from certctl.testing.pebble import Pebble, PebbleUnavailable, running_pebble
from certctl.testing.postgres import free_port

StartPebble = Callable[..., Pebble]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings, letting issuers reach loopback (pebble listens on 127.0.0.1)."""
    return settings.model_copy(update={"allow_private_targets": True})


@pytest.fixture
def http_port() -> int:
    """The port HTTP-01 validations are sent to, where certctl serves its challenge route."""
    return free_port()


@pytest.fixture
def start_pebble(tmp_path: Path, http_port: int) -> Iterator[StartPebble]:
    """Start pebble (options: eab, nonce_reject); it stops when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(**options: Any) -> Pebble:
            try:
                return stack.enter_context(
                    running_pebble(tmp_path / "pebble", http_port=http_port, **options)
                )
            except PebbleUnavailable as exc:
                pytest.fail(f"pebble is required for the ACME tests: {exc}")

        yield start


@pytest.fixture
async def challenge_server(ctx: AppContext, http_port: int) -> AsyncIterator[str]:
    """The certctl app served on `http_port` in this event loop (pebble validates against it)."""
    config = uvicorn.Config(
        create_app(ctx), host="127.0.0.1", port=http_port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event to await; it starts within milliseconds
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "the challenge server did not start"
    yield f"http://127.0.0.1:{http_port}"
    server.should_exit = True
    await task


@pytest.fixture
def processor(ctx: AppContext) -> JobService:
    """The job processor with server-side key generation (the agent's CSR is not the subject)."""
    return JobService(ctx.runtime, ctx.issuance, keygen_mode="server")


async def acme_issuer(
    api: httpx.AsyncClient, pebble: Pebble, name: str = "pebble", **config: Any
) -> str:
    """Create an ACME issuer on pebble's directory; returns its id."""
    body = {
        "directory_url": pebble.directory_url,
        "email": "ops@example.com",
        "terms_agreed": True,
        "ca_bundle_pem": pebble.listener_ca_pem,
        **config,
    }
    response = await api.post(
        "/api/v1/issuers", json={"name": name, "type": "ACME", "config": body}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def certificate_on(api: httpx.AsyncClient, issuer_id: str, name: str = "web") -> str:
    """A managed certificate for `<name>.example.com` on the issuer; returns its id."""
    response = await api.post(
        "/api/v1/certificates",
        json={"name": name, "common_name": f"{name}.example.com", "issuer_id": issuer_id},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def renew(api: httpx.AsyncClient, cert_id: str) -> str:
    """Request a renewal (or first issuance); returns the job id."""
    response = await api.post(f"/api/v1/certificates/{cert_id}/renew")
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


HOOK = """\
import json, sys, urllib.request
management, verb, log = sys.argv[1], sys.argv[2], sys.argv[3]
name, value = sys.argv[-2], sys.argv[-1]
with open(log, "a") as out:
    out.write(json.dumps([verb, name, value]) + "\\n")
body = {"host": name + "."} if verb == "clear-txt" else {"host": name + ".", "value": value}
request = urllib.request.Request(
    f"{management}/{verb}", data=json.dumps(body).encode(), method="POST"
)
urllib.request.urlopen(request, timeout=10).read()
"""


def dns_hooks(pebble: Pebble, workdir: Path) -> tuple[dict[str, Any], Path]:
    """dns-01 settings whose hooks set and clear the TXT record through challtestsrv's
    management API, and the file where each hook call is logged."""
    script = workdir / "dns_hook.py"
    script.write_text(HOOK)
    log = workdir / "hook-calls.jsonl"
    argv = [sys.executable, str(script), pebble.challtestsrv_url]
    return (
        {
            "challenge_type": "dns-01",
            "dns_present_command": [*argv, "set-txt", str(log)],
            "dns_cleanup_command": [*argv, "clear-txt", str(log)],
            "dns_resolver": pebble.dns_address,
            "dns_propagation_timeout_seconds": 10,
        },
        log,
    )
