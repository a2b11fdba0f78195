"""ACME issuance, renewal and revocation against Debian's pebble (RFC 8555)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.jobs import JobStatus
from certctl.domain.listing import PageRequest
from certctl.services.jobs import JobService
from certctl.services.notifications import NotificationFilter
from certctl.testing.pebble import EAB_KEYS

from .conftest import StartPebble, acme_issuer, certificate_on, dns_hooks, renew


def _openssl_verify(chain_pem: str, root_pem: str, workdir: Path) -> str:
    blocks = chain_pem.split("-----END CERTIFICATE-----")
    leaf = blocks[0] + "-----END CERTIFICATE-----\n"
    intermediates = "-----END CERTIFICATE-----".join(blocks[1:]).strip()
    (workdir / "leaf.pem").write_text(leaf)
    (workdir / "intermediates.pem").write_text(intermediates + "\n")
    (workdir / "root.pem").write_text(root_pem)
    result = subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(workdir / "root.pem"),
            "-untrusted",
            str(workdir / "intermediates.pem"),
            str(workdir / "leaf.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() + result.stderr.strip()


async def test_http01_issuance_verifies_against_pebbles_root(
    api: httpx.AsyncClient,
    ctx: AppContext,
    start_pebble: StartPebble,
    challenge_server: str,
    processor: JobService,
    tmp_path: Path,
) -> None:
    """A renewal job obtains a chain from pebble over HTTP-01 that openssl verifies."""
    pebble = start_pebble()
    cert_id = await certificate_on(api, await acme_issuer(api, pebble))
    job_id = await renew(api, cert_id)
    summary = await processor.process_due()
    assert (summary.claimed, summary.completed, summary.failed) == (1, 1, 0)
    job = await ctx.jobs.get(SYSTEM_CALLER, job_id)
    assert job.status is JobStatus.COMPLETED
    assert job.order_state is not None
    assert str(job.order_state["order_url"]).startswith(pebble.directory_url.removesuffix("/dir"))
    versions = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    assert len(versions) == 1
    verdict = _openssl_verify(versions[0]["pem_chain"], pebble.root_pem(), tmp_path)
    assert verdict == f"{tmp_path / 'leaf.pem'}: OK"
    assert pebble.certificate_status(versions[0]["serial_number"])["Status"] == "Valid"


async def test_the_account_key_is_made_once_and_sealed(
    api: httpx.AsyncClient,
    ctx: AppContext,
    start_pebble: StartPebble,
    challenge_server: str,
    processor: JobService,
) -> None:
    """Two issuances use one account, whose key is stored sealed, never as PEM."""
    pebble = start_pebble()
    issuer_id = await acme_issuer(api, pebble)
    for name in ("one", "two"):
        await renew(api, await certificate_on(api, issuer_id, name))
    summary = await processor.process_due()
    assert (summary.completed, summary.failed) == (2, 0)
    async with ctx.runtime.db.engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT issuer_id, sealed_key, account_url FROM acme_accounts"))
        ).all()
    assert len(rows) == 1
    assert rows[0][0] == issuer_id
    assert "PRIVATE KEY" not in rows[0][1]
    assert "/my-account/" in rows[0][2]


async def test_bad_nonces_are_retried_until_issuance_succeeds(
    api: httpx.AsyncClient,
    ctx: AppContext,
    start_pebble: StartPebble,
    challenge_server: str,
    processor: JobService,
) -> None:
    """With pebble rejecting half of all nonces (PEBBLE_WFE_NONCEREJECT=50) the job completes."""
    pebble = start_pebble(nonce_reject=50)
    cert_id = await certificate_on(api, await acme_issuer(api, pebble))
    job_id = await renew(api, cert_id)
    summary = await processor.process_due()
    assert (summary.completed, summary.failed, summary.retried) == (1, 0, 0)
    job = await ctx.jobs.get(SYSTEM_CALLER, job_id)
    assert (job.status, job.attempts) == (JobStatus.COMPLETED, 1)


async def test_a_failing_challenge_fails_the_job_with_the_cas_problem(
    api: httpx.AsyncClient,
    ctx: AppContext,
    start_pebble: StartPebble,
    processor: JobService,
) -> None:
    """Nothing answers HTTP-01: the job fails at once carrying pebble's problem document,
    and the renewal_failed notification carries it too."""
    pebble = start_pebble()  # no challenge_server: validation connections are refused
    cert_id = await certificate_on(api, await acme_issuer(api, pebble))
    job_id = await renew(api, cert_id)
    summary = await processor.process_due()
    assert (summary.claimed, summary.failed, summary.retried) == (1, 1, 0)
    job = await ctx.jobs.get(SYSTEM_CALLER, job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
    assert job.last_error is not None
    assert job.last_error.startswith(
        "authorization of web.example.com is invalid: urn:ietf:params:acme:error:connection: "
    )
    assert job.order_state is not None
    problem = job.order_state["problem"]
    assert isinstance(problem, dict)
    assert problem["type"] == "urn:ietf:params:acme:error:connection"
    assert problem["detail"] in job.last_error
    page = await ctx.notifications.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=100),
        filters=NotificationFilter(certificate_id=cert_id),
    )
    # The default policy matrix routes the renewal-failure alert to Email.
    [event] = page.items
    assert (event.channel, event.kind.value) == ("Email", "renewal_failed")
    assert event.context["ca_problem"] == problem
    assert event.context["cause_category"] == "challenge_error"
    assert f"Cause: Challenge error: {job.last_error}" in event.message


async def test_an_order_interrupted_by_a_restart_completes_on_the_same_order(
    api: httpx.AsyncClient,
    ctx: AppContext,
    clock: FrozenClock,
    start_pebble: StartPebble,
    challenge_server: str,
    processor: JobService,
) -> None:
    """A worker stopped right after opening the order leaves it on the job; the next worker
    (after the lease) finishes that order instead of opening another."""
    pebble = start_pebble()
    cert_id = await certificate_on(api, await acme_issuer(api, pebble))
    job_id = await renew(api, cert_id)
    crashed = asyncio.create_task(processor.process_due())
    order_url = None
    while order_url is None:
        await asyncio.sleep(0.01)
        state = (await ctx.jobs.get(SYSTEM_CALLER, job_id)).order_state
        order_url = (state or {}).get("order_url")
    crashed.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await crashed
    clock.advance(timedelta(minutes=6))  # the stopped worker's lease runs out
    restarted = JobService(ctx.runtime, ctx.issuance, keygen_mode="server")
    summary = await restarted.process_due()
    assert (summary.claimed, summary.completed, summary.failed) == (1, 1, 0)
    job = await ctx.jobs.get(SYSTEM_CALLER, job_id)
    assert (job.status, job.attempts) == (JobStatus.COMPLETED, 2)
    assert job.order_state is not None
    assert job.order_state["order_url"] == order_url
    versions = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    assert len(versions) == 1


async def test_a_renewal_then_a_revocation_reach_pebble(
    api: httpx.AsyncClient,
    ctx: AppContext,
    clock: FrozenClock,
    start_pebble: StartPebble,
    challenge_server: str,
    processor: JobService,
) -> None:
    """The second version comes from a new order; revoking the certificate revokes both serials
    at pebble with the RFC 5280 reason, and the revocations are marked as acknowledged."""
    pebble = start_pebble()
    cert_id = await certificate_on(api, await acme_issuer(api, pebble))
    for _ in range(2):
        await renew(api, cert_id)
        assert (await processor.process_due()).completed == 1
        clock.advance(timedelta(minutes=1))
    versions = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    assert len({v["serial_number"] for v in versions}) == 2
    response = await api.post(
        f"/api/v1/certificates/{cert_id}/revoke", json={"reason": "keyCompromise"}
    )
    assert response.status_code == 200, response.text
    serials = sorted(v["serial_number"] for v in versions)
    for serial in serials:  # every unexpired version is revoked
        status = pebble.certificate_status(serial)
        assert (status["Status"], status["Reason"]) == ("Revoked", 1)  # keyCompromise
    async with ctx.runtime.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT serial_number, issuer_notified FROM certificate_revocations")
            )
        ).all()
    assert sorted((r[0], bool(r[1])) for r in rows) == [(s, True) for s in serials]


async def test_issuance_with_external_account_binding(
    api: httpx.AsyncClient,
    ctx: AppContext,
    start_pebble: StartPebble,
    challenge_server: str,
    processor: JobService,
) -> None:
    """pebble requiring EAB registers the account bound to kid-1 and issues."""
    pebble = start_pebble(eab=True)
    issuer_id = await acme_issuer(api, pebble, eab_kid="kid-1", eab_hmac_key=EAB_KEYS["kid-1"])
    job_id = await renew(api, await certificate_on(api, issuer_id))
    summary = await processor.process_due()
    assert (summary.completed, summary.failed) == (1, 0)
    assert (await ctx.jobs.get(SYSTEM_CALLER, job_id)).status is JobStatus.COMPLETED


async def test_a_wrong_eab_key_fails_the_job_with_the_cas_reason(
    api: httpx.AsyncClient,
    ctx: AppContext,
    start_pebble: StartPebble,
    challenge_server: str,
    processor: JobService,
) -> None:
    """An HMAC key that is not kid-1's is refused by pebble; the job fails at once saying so."""
    pebble = start_pebble(eab=True)
    issuer_id = await acme_issuer(api, pebble, eab_kid="kid-1", eab_hmac_key=EAB_KEYS["kid-2"])
    job_id = await renew(api, await certificate_on(api, issuer_id))
    summary = await processor.process_due()
    assert (summary.failed, summary.retried) == (1, 0)
    job = await ctx.jobs.get(SYSTEM_CALLER, job_id)
    assert job.last_error is not None
    assert job.last_error.startswith("the ACME server refused: urn:ietf:params:acme:error:")


async def test_dns01_issuance_through_hook_commands(
    api: httpx.AsyncClient,
    ctx: AppContext,
    start_pebble: StartPebble,
    processor: JobService,
    tmp_path: Path,
) -> None:
    """The present hook sets the TXT record in challtestsrv, the resolver sees it, pebble
    validates it, the clean-up hook removes it, and the chain verifies against pebble's root."""
    pebble = start_pebble()
    hooks, log = dns_hooks(pebble, tmp_path)
    cert_id = await certificate_on(api, await acme_issuer(api, pebble, **hooks))
    await renew(api, cert_id)
    summary = await processor.process_due()
    assert (summary.completed, summary.failed) == (1, 0)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(verb, name) for verb, name, _ in calls] == [
        ("set-txt", "_acme-challenge.web.example.com"),
        ("clear-txt", "_acme-challenge.web.example.com"),
    ]
    assert calls[0][2] == calls[1][2]
    assert len(calls[0][2]) == 43
    versions = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    verdict = _openssl_verify(versions[0]["pem_chain"], pebble.root_pem(), tmp_path)
    assert verdict == f"{tmp_path / 'leaf.pem'}: OK"


async def test_a_failing_present_hook_fails_the_job_with_its_stderr(
    api: httpx.AsyncClient,
    ctx: AppContext,
    start_pebble: StartPebble,
    processor: JobService,
    tmp_path: Path,
) -> None:
    """A hook exiting 3 fails the job at once with the exit status and what it printed."""
    pebble = start_pebble()
    script = tmp_path / "broken_hook.py"
    script.write_text("import sys\nsys.stderr.write('zone not found')\nsys.exit(3)\n")
    hooks = {"challenge_type": "dns-01", "dns_present_command": [sys.executable, str(script)]}
    cert_id = await certificate_on(api, await acme_issuer(api, pebble, **hooks))
    job_id = await renew(api, cert_id)
    summary = await processor.process_due()
    assert (summary.failed, summary.retried) == (1, 0)
    job = await ctx.jobs.get(SYSTEM_CALLER, job_id)
    assert job.last_error == "the DNS present hook exited with status 3: zone not found"
