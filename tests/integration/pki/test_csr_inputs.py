"""A CSR submission's inputs come from one joined read that answers as the separate reads do."""

from __future__ import annotations

from typing import Any

import httpx

from certctl.bootstrap import AppContext
from certctl.db.uow import CsrInputs

from .test_issuance_statements import counted
from .test_local_ca import _certificate, _local_issuer

NGINX = {"cert_path": "/etc/nginx/tls/a.crt", "key_path": "/etc/nginx/tls/a.key"}


async def _read(ctx: AppContext, cert_id: str) -> CsrInputs | None:
    async with ctx.runtime.db.single_statement() as uow:
        return await uow.csr_inputs(cert_id)


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
    with counted(ctx) as sent:
        found = await _read(ctx, cert_id)
    assert len([s for s in sent if s != "BEGIN"]) == 1
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
