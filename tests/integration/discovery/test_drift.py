"""Drift: an endpoint serving an older version is reported once as stale; a match reports nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.certificates import CertificateVersion
from certctl.domain.inventory import TargetType
from certctl.domain.jobs import JobFilter, JobType
from certctl.domain.listing import PageRequest, SortKey
from certctl.pki.facts import read_pem
from certctl.testing.clock import TEST_EPOCH
from certctl.testing.tlsserver import Issued, tls_server


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass(frozen=True)
class Versions:
    """Two versions of drift.test (old and current) and an unrelated certificate."""

    old: Issued
    current: Issued
    foreign: Issued


def _leaf(directory: Path, stem: str, cn: str, days_ago: int, serial: int) -> Issued:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    start = TEST_EPOCH - timedelta(days=days_ago)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name("Drift Test CA"))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    paths = Issued(directory / f"{stem}.pem", directory / f"{stem}.key", directory / f"{stem}.pem")
    paths.cert.write_bytes(pem)
    paths.key.write_bytes(key_pem)
    return paths


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Versions:
    """Certificates with fixed validity around the frozen clock."""
    d = tmp_path_factory.mktemp("drift")
    return Versions(
        old=_leaf(d, "old", "drift.test", 60, 1),
        current=_leaf(d, "current", "drift.test", 1, 2),
        foreign=_leaf(d, "foreign", "drift.test", 5, 3),
    )


async def _managed(ctx: AppContext, versions: Versions) -> str:
    """A managed certificate whose versions are old then current."""
    cert, _ = await ctx.certificates.import_pem(
        SYSTEM_CALLER, versions.old.cert.read_text(), {"name": "drift"}
    )
    facts, chain = read_pem(versions.current.cert.read_text())
    async with ctx.runtime.db.uow() as uow:
        await uow.versions.add(
            CertificateVersion(
                id="cv-current",
                certificate_id=cert.id,
                serial_number=facts.serial_number,
                not_before=facts.not_before,
                not_after=facts.not_after,
                fingerprint_sha256=facts.fingerprint_sha256,
                pem_chain=chain,
                created_at=TEST_EPOCH,
            )
        )
    return cert.id


async def _map(ctx: AppContext, cert_id: str, port: int, **config: object) -> str:
    """A target checked at 127.0.0.1:port, mapped to the certificate."""
    target = await ctx.targets.create(
        SYSTEM_CALLER,
        {
            "name": f"web-{port}",
            "type": TargetType.NGINX,
            "config": {
                "cert_path": "/etc/nginx/ssl/web.pem",
                "key_path": "/etc/nginx/ssl/web.key",
                "verify_endpoint": f"127.0.0.1:{port}",
                **config,
            },
        },
    )
    await ctx.certificates.update(SYSTEM_CALLER, cert_id, {"target_ids": [target.id]})
    return target.id


async def _drift_events(ctx: AppContext) -> list[tuple[str, str]]:
    async with ctx.runtime.db.uow() as uow:
        page = await uow.notifications.page(
            request=PageRequest(per_page=100), sort=SortKey("created_at")
        )
    return sorted((e.kind.value, e.channel) for e in page.items)


@pytest.fixture
async def serving_old(versions: Versions) -> AsyncIterator[int]:
    """A TLS server still serving the old version."""
    async with tls_server(versions.old) as port:
        yield port


async def test_a_stale_endpoint_is_reported_once_across_two_ticks(
    ctx: AppContext, api: httpx.AsyncClient, versions: Versions, serving_old: int
) -> None:
    """Tick 1: one stale drift and one notification per channel; tick 2: nothing new."""
    cert_id = await _managed(ctx, versions)
    target_id = await _map(ctx, cert_id, serving_old)
    first = await ctx.drift.check_all()
    second = await ctx.drift.check_all()
    assert (first.checked, first.new_drifts, first.ongoing) == (1, 1, 0)
    assert (second.checked, second.new_drifts, second.ongoing) == (1, 0, 1)
    assert await _drift_events(ctx) == [("drift", "Email"), ("drift", "Webhook")]
    (drift,) = (await api.get("/api/v1/drift")).json()
    old_fp = read_pem(versions.old.cert.read_text())[0].fingerprint_sha256
    current_fp = read_pem(versions.current.cert.read_text())[0].fingerprint_sha256
    assert drift == {
        "certificate_id": cert_id,
        "target_id": target_id,
        "endpoint": f"127.0.0.1:{serving_old}",
        "server_name": None,
        "kind": "stale",
        "served_fingerprint": old_fp,
        "expected_fingerprint": current_fp,
        "job_id": None,
        "detected_at": "2026-06-01T12:00:00Z",
        "last_checked_at": "2026-06-01T12:00:00Z",
    }


async def test_an_endpoint_serving_the_current_version_reports_nothing(
    ctx: AppContext, api: httpx.AsyncClient, versions: Versions
) -> None:
    """The current version on the wire: matching, no drift row, no notification."""
    cert_id = await _managed(ctx, versions)
    async with tls_server(versions.current) as port:
        await _map(ctx, cert_id, port)
        summary = await ctx.drift.check_all()
    assert (summary.checked, summary.matching, summary.new_drifts) == (1, 1, 0)
    assert (await api.get("/api/v1/drift")).json() == []
    assert await _drift_events(ctx) == []


async def test_a_later_match_clears_the_drift(
    ctx: AppContext, versions: Versions, serving_old: int
) -> None:
    """Once the endpoint serves the current version the drift row goes away."""
    cert_id = await _managed(ctx, versions)
    target_id = await _map(ctx, cert_id, serving_old)
    await ctx.drift.check_all()
    async with tls_server(versions.current) as port:
        await ctx.targets.update(
            SYSTEM_CALLER,
            target_id,
            {
                "config": {
                    "cert_path": "/etc/nginx/ssl/web.pem",
                    "key_path": "/etc/nginx/ssl/web.key",
                    "verify_endpoint": f"127.0.0.1:{port}",
                }
            },
        )
        summary = await ctx.drift.check_all()
    assert summary.cleared == 1
    assert await ctx.drift.list(SYSTEM_CALLER) == []


async def test_a_foreign_certificate_is_reported_as_foreign(
    ctx: AppContext, versions: Versions
) -> None:
    """A certificate that is no version of this one is `foreign` drift."""
    cert_id = await _managed(ctx, versions)
    async with tls_server(versions.foreign) as port:
        await _map(ctx, cert_id, port)
        await ctx.drift.check_all()
    (drift,) = await ctx.drift.list(SYSTEM_CALLER)
    assert drift.kind.value == "foreign"


async def test_redeploy_on_drift_queues_one_deployment_job(
    ctx: AppContext, versions: Versions, serving_old: int
) -> None:
    """redeploy_on_drift: one Pending Deployment job for the target, not one per tick."""
    cert_id = await _managed(ctx, versions)
    target_id = await _map(ctx, cert_id, serving_old, redeploy_on_drift=True)
    first = await ctx.drift.check_all()
    await ctx.drift.check_all()
    async with ctx.runtime.db.uow() as uow:
        jobs = await uow.jobs.search(
            request=PageRequest(),
            filters=JobFilter(certificate_id=cert_id, type=JobType.DEPLOYMENT),
            sort=SortKey("created_at"),
        )
    assert first.jobs_created == 1
    assert [(j.status.value, j.target_id) for j in jobs.items] == [("Pending", target_id)]
    (drift,) = await ctx.drift.list(SYSTEM_CALLER)
    assert drift.job_id == jobs.items[0].id
