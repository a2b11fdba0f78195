"""Issuance's joined reads answer as the separate reads do: a CSR submission's inputs, and the
certificates a batch of versions is written over with their renewal-window and alert flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.db.repositories.issuance_reads import CsrInputs
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.alert_lifecycle import Alert, AlertKind, AlertState
from certctl.domain.renewal_info import RenewalInfoState
from certctl.testing.queries import driver_queries

from .test_issuance_statements import counted, driver_statements
from .test_local_ca import _certificate, _local_issuer, make_csr

NGINX = {"cert_path": "/etc/nginx/tls/a.crt", "key_path": "/etc/nginx/tls/a.key"}


async def _read(ctx: AppContext, cert_id: str) -> CsrInputs | None:
    async with ctx.runtime.db.read() as reads:
        return await reads.csr_inputs(cert_id)


async def _separately(ctx: AppContext, cert_id: str) -> dict[str, Any]:
    """What the repositories read one by one for the same certificate."""
    async with ctx.runtime.db.uow() as uow:
        cert = await uow.certificates.require(cert_id)
        issuer = await uow.issuers.get(cert.issuer_id) if cert.issuer_id else None
        return {
            "cert": cert,
            "job": await uow.jobs.open_issuing(cert_id),
            "issuer": issuer,
            "stored_ca": await uow.pki.get_ca(issuer.id) if issuer else None,
        }


async def _post(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    response = await api.post(path, json=body)
    assert response.status_code == status, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_joined_read_equals_the_separate_reads(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Certificate with two targets, tags and SANs, its open renewal job, its issuer and
    CA row: each equals what its repository reads, in one statement."""
    issuer_id = await _local_issuer(api)
    targets = [
        (await _post(api, "/api/v1/targets", {"name": n, "type": "NGINX", "config": NGINX}))["id"]
        for n in ("edge-b", "edge-a")
    ]
    cert_id = await _certificate(
        api,
        issuer_id,
        sans=["www.example.com", "api.example.com"],
        tags={"team": "web", "note": 'quote " and \\ backslash'},
        target_ids=targets,
    )
    job = await _post(api, f"/api/v1/certificates/{cert_id}/renew", {}, 202)
    with counted(ctx) as sent, driver_queries(ctx.runtime.db) as logged:
        found = await _read(ctx, cert_id)
    assert len([s for s in sent if s != "BEGIN"] + driver_statements(logged)) == 1
    assert found is not None
    expected = await _separately(ctx, cert_id)
    assert found.cert == expected["cert"]
    assert sorted(found.cert.target_ids) == sorted(targets)
    assert found.job == expected["job"]
    assert found.job is not None
    assert found.job.id == job["id"]
    assert found.issuer == expected["issuer"]
    assert found.stored_ca == expected["stored_ca"]
    assert found.stored_ca is not None
    assert found.stored_ca.issuer_id == issuer_id
    assert found.profile is None


async def test_a_missing_certificate_reads_none(api: httpx.AsyncClient, ctx: AppContext) -> None:
    """No row: None, not an empty certificate."""
    assert await _read(ctx, "mc-missing") is None


async def test_without_issuer_or_open_job_those_parts_are_none(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """A certificate with no issuer and no job: issuer, CA row, job and profile are None."""
    cert = await _post(api, "/api/v1/certificates", {"name": "bare", "common_name": "b.example"})
    found = await _read(ctx, cert["id"])
    assert found is not None
    assert (found.cert.id, found.job, found.issuer, found.stored_ca, found.profile) == (
        cert["id"],
        None,
        None,
        None,
        None,
    )


async def test_a_finished_job_is_not_the_open_one(api: httpx.AsyncClient, ctx: AppContext) -> None:
    """Only an open issuance or renewal job is read: a cancelled one is not."""
    issuer_id = await _local_issuer(api)
    cert_id = await _certificate(api, issuer_id)
    job = await _post(api, f"/api/v1/certificates/{cert_id}/renew", {}, 202)
    cancelled = await api.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    found = await _read(ctx, cert_id)
    assert found is not None
    assert found.job is None


async def test_the_certificate_profile_wins_over_the_policy_profile(
    api: httpx.AsyncClient, ctx: AppContext
) -> None:
    """The certificate's own profile; else its policy's; else none."""
    issuer_id = await _local_issuer(api)
    own = await _post(api, "/api/v1/profiles", {"name": "own"})
    via_policy = await _post(
        api, "/api/v1/profiles", {"name": "via-policy", "max_ttl_seconds": 86400}
    )
    policy = await _post(
        api, "/api/v1/renewal-policies", {"name": "p", "certificate_profile_id": via_policy["id"]}
    )
    both = await _certificate(
        api,
        issuer_id,
        name="both",
        certificate_profile_id=own["id"],
        renewal_policy_id=policy["id"],
    )
    policy_only = await _certificate(
        api, issuer_id, name="policy-only", renewal_policy_id=policy["id"]
    )
    bare_policy = await _post(api, "/api/v1/renewal-policies", {"name": "none"})
    neither = await _certificate(
        api, issuer_id, name="neither", renewal_policy_id=bare_policy["id"]
    )
    async with ctx.runtime.db.uow() as uow:
        own_profile = await uow.profiles.require(own["id"])
        policy_profile = await uow.profiles.require(via_policy["id"])
    assert [(await _read(ctx, c)).profile for c in (both, policy_only, neither)] == [  # type: ignore[union-attr]
        own_profile,
        policy_profile,
        None,
    ]


async def _window(ctx: AppContext, clock: FrozenClock, cert_id: str) -> None:
    now = clock.now()
    async with ctx.runtime.db.uow() as uow:
        await uow.renewal_info.save(
            RenewalInfoState(
                certificate_id=cert_id,
                ari_cert_id=f"ari.{cert_id}",
                checked_at=now,
                next_check_at=now,
            )
        )


async def _alert(ctx: AppContext, clock: FrozenClock, cert_id: str, state: AlertState) -> None:
    now = clock.now()
    async with ctx.runtime.db.uow() as uow:
        version = (await uow.versions.for_certificate(cert_id))[0]
        await uow.alerts.insert_new(
            [
                Alert(
                    id=f"alr-{cert_id}",
                    kind=AlertKind.EXPIRY,
                    certificate_id=cert_id,
                    version_id=version.id,
                    threshold="7d",
                    tier="warning",
                    state=state,
                    subject="expires soon",
                    incident_key=f"incident-{cert_id}",
                    dedup_key=f"dedup-{cert_id}",
                    opened_at=now,
                    updated_at=now,
                )
            ]
        )


async def _issued_certificates(
    api: httpx.AsyncClient, ctx: AppContext, tmp_path: Path, names: list[str]
) -> list[str]:
    issuer_id = await _local_issuer(api)
    ids = []
    for name in names:
        cert_id = await _certificate(api, issuer_id, name=name, common_name=f"{name}.example.com")
        csr = make_csr(tmp_path, f"{name}.example.com", name=name)
        await ctx.jobs.submit_csr(SYSTEM_CALLER, cert_id, csr)
        ids.append(cert_id)
    return ids


async def test_the_write_read_flags_renewal_windows_and_open_alerts(
    api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock, tmp_path: Path
) -> None:
    """Found certificates by id; a window flags its certificate, an open alert its own, a
    resolved alert none; a missing id is left out."""
    windowed, alerted, resolved, plain = await _issued_certificates(
        api, ctx, tmp_path, ["windowed", "alerted", "resolved", "plain"]
    )
    await _window(ctx, clock, windowed)
    await _alert(ctx, clock, alerted, AlertState.ACKNOWLEDGED)
    await _alert(ctx, clock, resolved, AlertState.RESOLVED)
    async with ctx.runtime.db.uow() as uow:
        read = await uow.issuing_certificates([windowed, alerted, resolved, plain, "mc-missing"])
        expected = {
            c: await uow.certificates.require(c) for c in (windowed, alerted, resolved, plain)
        }
    assert read.found == expected
    assert sorted(read.found) == sorted([windowed, alerted, resolved, plain])
    assert read.with_window == frozenset({windowed})
    assert read.with_open_alert == frozenset({alerted})


async def test_a_new_version_drops_its_own_renewal_window_only(
    api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock, tmp_path: Path
) -> None:
    """Issuing again over a certificate with a window removes that window; another
    certificate's window stays."""
    renewed, other = await _issued_certificates(api, ctx, tmp_path, ["renewed", "other"])
    await _window(ctx, clock, renewed)
    await _window(ctx, clock, other)
    csr = make_csr(tmp_path, "renewed.example.com", name="again")
    await ctx.jobs.submit_csr(SYSTEM_CALLER, renewed, csr)
    async with ctx.runtime.db.uow() as uow:
        assert await uow.renewal_info.get(renewed) is None
        kept = await uow.renewal_info.get(other)
    assert kept is not None
    assert kept.ari_cert_id == f"ari.{other}"
