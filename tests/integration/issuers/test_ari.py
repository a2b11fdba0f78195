"""ACME Renewal Information (RFC 9773): the renewal scan follows the CA's suggested window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.jobs import JobFilter, JobStatus
from certctl.domain.listing import PageRequest, SortKey
from certctl.pki.mint import make_ca, mint_leaf
from certctl.pki.renewal_info import certificate_ari_id
from certctl.services.jobs import JobService
from certctl.testing.ari import RenewalInfoCA

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class AriCertificate:
    """A managed certificate on an ACME issuer whose CA serves renewal information."""

    id: str
    pem: str
    cert_id: str


@pytest.fixture
async def ari_ca() -> AsyncIterator[RenewalInfoCA]:
    """The renewal-info endpoint on 127.0.0.1:0."""
    async with RenewalInfoCA() as server:
        yield server


async def managed(
    api: httpx.AsyncClient, ctx: AppContext, ari_ca: RenewalInfoCA, *, days_left: int
) -> AriCertificate:
    """A certificate (with an AKI) expiring in `days_left` days, on an ACME issuer at ari_ca."""
    response = await api.post(
        "/api/v1/issuers",
        json={
            "name": "ari",
            "type": "ACME",
            "config": {"directory_url": f"{ari_ca.url}/dir", "terms_agreed": True},
        },
    )
    assert response.status_code == 201, response.text
    now = ctx.runtime.clock.now()
    pem = mint_leaf(
        make_ca("ARI Test CA", now),
        common_name="web.example.com",
        sans=["web.example.com"],
        not_before=now - timedelta(days=60),
        not_after=now + timedelta(days=days_left),
    )
    cert, _ = await ctx.certificates.import_pem(
        SYSTEM_CALLER, pem, {"issuer_id": response.json()["id"]}
    )
    return AriCertificate(cert.id, pem, certificate_ari_id(pem))


async def renewal_jobs(ctx: AppContext, cert_id: str) -> list[tuple[JobStatus, object]]:
    """(status, scheduled_at) of the certificate's jobs."""
    page = await ctx.jobs.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=100),
        filters=JobFilter(certificate_id=cert_id),
        sort=SortKey("created_at", descending=False),
    )
    return [(job.status, job.scheduled_at) for job in page.items]


async def test_a_future_window_schedules_the_job_inside_it_not_before(
    api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock, ari_ca: RenewalInfoCA
) -> None:
    """A window 10 to 12 days out holds back a certificate the 30-day policy would renew
    now; the job is queued for the moment chosen inside the window and runs no earlier."""
    start = clock.now() + timedelta(days=10)
    ari_ca.window = (start, start + timedelta(days=2))
    cert = await managed(api, ctx, ari_ca, days_left=20)
    summary = await ctx.jobs.scan_renewals(lookahead=HOUR)
    assert (summary.ari_checked, summary.ari_failed, summary.created) == (1, 0, 0)
    assert ari_ca.renewal_info_requests() == [cert.cert_id]
    state = await ctx.jobs.renewal_info.get(cert.id)
    assert state is not None
    assert state.renew_at is not None
    assert state.window is not None
    assert start <= state.renew_at <= start + timedelta(days=2)
    assert (state.window.start, state.window.end) == ari_ca.window
    renew_at = state.renew_at

    clock.set(renew_at - 2 * HOUR)
    assert (await ctx.jobs.scan_renewals(lookahead=HOUR)).created == 0
    assert len(ari_ca.renewal_info_requests()) == 2
    kept = await ctx.jobs.renewal_info.get(cert.id)
    assert kept is not None
    assert kept.renew_at == renew_at

    clock.set(renew_at - HOUR / 2)
    assert (await ctx.jobs.scan_renewals(lookahead=HOUR)).created == 1
    assert await renewal_jobs(ctx, cert.id) == [(JobStatus.PENDING, renew_at)]
    processor = JobService(ctx.runtime, ctx.issuance, keygen_mode="server")
    clock.set(renew_at - timedelta(seconds=1))
    assert (await processor.process_due()).claimed == 0


async def test_a_past_window_renews_at_once(
    api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock, ari_ca: RenewalInfoCA
) -> None:
    """A window that has already ended (a CA-announced revocation) renews a certificate with
    60 days left, far outside the policy's 30-day window, now."""
    now = clock.now()
    ari_ca.window = (now - timedelta(days=2), now - timedelta(days=1))
    ari_ca.explanation_url = "https://ca.example/incident/42"
    cert = await managed(api, ctx, ari_ca, days_left=60)
    summary = await ctx.jobs.scan_renewals()
    assert (summary.created, summary.ari_due) == (1, 1)
    assert await renewal_jobs(ctx, cert.id) == [(JobStatus.PENDING, now)]
    body = (await api.get(f"/api/v1/certificates/{cert.id}")).json()
    assert body["renewal_info"] == {
        "ari_cert_id": cert.cert_id,
        "window_start": (now - timedelta(days=2)).isoformat().replace("+00:00", "Z"),
        "window_end": (now - timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "explanation_url": "https://ca.example/incident/42",
        "renew_at": now.isoformat().replace("+00:00", "Z"),
        "checked_at": now.isoformat().replace("+00:00", "Z"),
        "next_check_at": (now + 6 * HOUR).isoformat().replace("+00:00", "Z"),
        "ari_last_error": None,
    }


async def test_retry_after_is_honoured(
    api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock, ari_ca: RenewalInfoCA
) -> None:
    """With Retry-After: 7200 the scan does not ask again until two hours have passed."""
    start = clock.now() + timedelta(days=40)
    ari_ca.window = (start, start + timedelta(days=1))
    ari_ca.retry_after = "7200"
    await managed(api, ctx, ari_ca, days_left=60)
    await ctx.jobs.scan_renewals()
    clock.advance(2 * HOUR - timedelta(seconds=1))
    assert (await ctx.jobs.scan_renewals()).ari_checked == 0
    assert len(ari_ca.renewal_info_requests()) == 1
    clock.advance(timedelta(seconds=1))
    assert (await ctx.jobs.scan_renewals()).ari_checked == 1
    assert len(ari_ca.renewal_info_requests()) == 2


async def test_a_failing_renewal_info_falls_back_to_the_policy_window(
    api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock, ari_ca: RenewalInfoCA
) -> None:
    """A 500 from renewalInfo is recorded on the certificate and the 30-day policy window
    renews a certificate with 20 days left."""
    ari_ca.status = 500
    cert = await managed(api, ctx, ari_ca, days_left=20)
    summary = await ctx.jobs.scan_renewals()
    assert (summary.ari_checked, summary.ari_failed, summary.created) == (1, 1, 1)
    assert await renewal_jobs(ctx, cert.id) == [(JobStatus.PENDING, clock.now())]
    state = await ctx.jobs.renewal_info.get(cert.id)
    assert state is not None
    assert state.last_error == "renewalInfo answered HTTP 500"
    assert (state.window, state.next_check_at) == (None, clock.now() + HOUR)
    body = (await api.get(f"/api/v1/certificates/{cert.id}")).json()
    assert body["renewal_info"]["ari_last_error"] == "renewalInfo answered HTTP 500"


async def test_a_failing_renewal_info_does_not_renew_outside_the_policy_window(
    api: httpx.AsyncClient, ctx: AppContext, ari_ca: RenewalInfoCA
) -> None:
    """A 500 for a certificate with 60 days left opens no job."""
    ari_ca.status = 500
    cert = await managed(api, ctx, ari_ca, days_left=60)
    assert (await ctx.jobs.scan_renewals()).created == 0
    assert await renewal_jobs(ctx, cert.id) == []


async def test_the_renewal_order_names_the_certificate_it_replaces(
    api: httpx.AsyncClient, ctx: AppContext, ari_ca: RenewalInfoCA
) -> None:
    """The new order of a renewal carries `replaces` with the current version's certID."""
    cert = await managed(api, ctx, ari_ca, days_left=20)
    assert (await api.post(f"/api/v1/certificates/{cert.id}/renew")).status_code == 202
    processor = JobService(ctx.runtime, ctx.issuance, keygen_mode="server")
    summary = await processor.process_due()
    assert (summary.claimed, summary.failed) == (1, 1)
    assert ari_ca.orders == [
        {
            "identifiers": [{"type": "dns", "value": "web.example.com"}],
            "replaces": cert.cert_id,
        }
    ]


async def test_a_ca_without_renewal_info_leaves_the_policy_in_charge(
    api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock, ari_ca: RenewalInfoCA
) -> None:
    """A directory without renewalInfo: no ARI request, the fact is kept for a day, the
    30-day policy window renews a certificate with 20 days left, and no `replaces` is sent."""
    ari_ca.advertise = False
    cert = await managed(api, ctx, ari_ca, days_left=20)
    summary = await ctx.jobs.scan_renewals()
    assert (summary.ari_checked, summary.ari_failed, summary.created) == (1, 0, 1)
    assert ari_ca.renewal_info_requests() == []
    state = await ctx.jobs.renewal_info.get(cert.id)
    assert state is not None
    assert (state.window, state.last_error) == (None, None)
    assert state.next_check_at == clock.now() + timedelta(days=1)
    processor = JobService(ctx.runtime, ctx.issuance, keygen_mode="server")
    assert (await processor.process_due()).failed == 1
    assert [set(order) for order in ari_ca.orders] == [{"identifiers"}]


async def test_a_certificate_without_a_version_is_not_asked_about_every_scan(
    api: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock, ari_ca: RenewalInfoCA
) -> None:
    """A hand-registered certificate (no issued version) is noted once and skipped for a day."""
    issuer = await api.post(
        "/api/v1/issuers",
        json={
            "name": "ari",
            "type": "ACME",
            "config": {"directory_url": f"{ari_ca.url}/dir", "terms_agreed": True},
        },
    )
    expires = (clock.now() + timedelta(days=60)).isoformat()
    created = await api.post(
        "/api/v1/certificates",
        json={
            "name": "hand",
            "common_name": "hand.example.com",
            "issuer_id": issuer.json()["id"],
            "status": "Active",
            "expires_at": expires,
        },
    )
    assert created.status_code == 201, created.text
    assert (await ctx.jobs.scan_renewals()).ari_checked == 1
    assert (await ctx.jobs.scan_renewals()).ari_checked == 0
    state = await ctx.jobs.renewal_info.get(created.json()["id"])
    assert state is not None
    assert state.last_error == "no issued version to ask about"
    assert ari_ca.renewal_info_requests() == []
