"""Routes of discovered certificates, network scans and drift (C8)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Response

from certctl.api.deps import API_PREFIX, CallerDep, ContextDep, PageDep
from certctl.api.schemas.certificates import CertificateOut, VersionOut
from certctl.api.schemas.common import PROBLEM_RESPONSES, PageOut
from certctl.api.schemas.discovery import (
    ClaimIn,
    ClaimOut,
    DiscoveryDetailOut,
    DiscoveryOut,
    DismissIn,
    DriftOut,
    EndpointOut,
    ScanDetailOut,
    ScanIn,
    ScanOut,
    SummaryOut,
)
from certctl.domain.discovery import DiscoveryFilter, DiscoverySource, DiscoveryStatus
from certctl.domain.listing import parse_sort

discoveries = APIRouter(
    prefix=f"{API_PREFIX}/discoveries", tags=["discovery"], responses=PROBLEM_RESPONSES
)
scans = APIRouter(
    prefix=f"{API_PREFIX}/discovery-scans", tags=["discovery"], responses=PROBLEM_RESPONSES
)
drift = APIRouter(prefix=f"{API_PREFIX}/drift", tags=["discovery"], responses=PROBLEM_RESPONSES)

SORT_FIELDS = ("last_seen_at", "first_seen_at", "not_after", "common_name", "status", "location")
SCAN_SORT_FIELDS = ("started_at", "finished_at", "status")
Sort = Annotated[str | None, Query(description="Field, `-` prefix for descending.")]


@discoveries.get("", name="list_discoveries", response_model=PageOut[DiscoveryOut])
async def list_discoveries(
    ctx: ContextDep,
    who: CallerDep,
    paging: PageDep,
    status: DiscoveryStatus | None = None,
    source: DiscoverySource | None = None,
    agent_id: str | None = None,
    scan_id: str | None = None,
    expiring_before: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Sort = None,
) -> PageOut[DiscoveryOut]:
    """Discovered certificates, soonest expiry first unless sorted otherwise."""
    filters = DiscoveryFilter(
        status=status,
        source=source,
        agent_id=agent_id,
        scan_id=scan_id,
        expiring_before=expiring_before,
        q=q,
    )
    page = await ctx.discovery.search(
        who, request=paging, sort=parse_sort(sort, SORT_FIELDS, "not_after"), filters=filters
    )
    return PageOut[DiscoveryOut].of(page, DiscoveryOut)


@discoveries.get("/summary", name="discovery_summary", response_model=SummaryOut)
async def discovery_summary(ctx: ContextDep, who: CallerDep) -> SummaryOut:
    """Counts by status, agent and scan; unmanaged ones expiring within 30 days."""
    return SummaryOut.model_validate(await ctx.discovery.summary(who))


@discoveries.get("/{resource_id}", name="get_discovery", response_model=DiscoveryDetailOut)
async def get_discovery(ctx: ContextDep, who: CallerDep, resource_id: str) -> DiscoveryDetailOut:
    """One discovery with its PEM and the endpoints that served it."""
    found, endpoints = await ctx.discovery.get(who, resource_id)
    return DiscoveryDetailOut.model_validate(
        {
            **DiscoveryOut.model_validate(found).model_dump(),
            "pem": found.pem,
            "endpoints": [EndpointOut.model_validate(e) for e in endpoints],
        }
    )


@discoveries.post(
    "/{resource_id}/claim", name="claim_discovery", status_code=201, response_model=ClaimOut
)
async def claim_discovery(
    ctx: ContextDep,
    who: CallerDep,
    resource_id: str,
    response: Response,
    body: ClaimIn | None = None,
) -> ClaimOut:
    """Make the discovery a managed certificate (from its PEM); it becomes Claimed."""
    fields = body.model_dump(exclude_none=True) if body else {}
    claimed = await ctx.discovery.claim(who, resource_id, fields)
    response.headers["Location"] = f"{API_PREFIX}/certificates/{claimed.certificate.id}"
    return ClaimOut(
        certificate=CertificateOut.model_validate(claimed.certificate),
        version=VersionOut.model_validate(claimed.version),
        discovery=DiscoveryOut.model_validate(claimed.discovery),
    )


@discoveries.post("/{resource_id}/dismiss", name="dismiss_discovery", response_model=DiscoveryOut)
async def dismiss_discovery(
    ctx: ContextDep, who: CallerDep, resource_id: str, body: DismissIn
) -> DiscoveryOut:
    """Mark the discovery as not to be managed; the reason is required."""
    return DiscoveryOut.model_validate(await ctx.discovery.dismiss(who, resource_id, body.reason))


@scans.post("", name="create_discovery_scan", status_code=202, response_model=ScanOut)
async def create_discovery_scan(
    ctx: ContextDep, who: CallerDep, body: ScanIn, background: BackgroundTasks, response: Response
) -> ScanOut:
    """Request a network scan (202); it runs in the background, its status says when done."""
    scan = await ctx.network_scans.start(who, body.cidrs, body.ports, server_name=body.server_name)
    background.add_task(ctx.network_scans.run, scan.id)
    response.headers["Location"] = f"{API_PREFIX}/discovery-scans/{scan.id}"
    return ScanOut.model_validate(scan)


@scans.get("", name="list_discovery_scans", response_model=PageOut[ScanOut])
async def list_discovery_scans(
    ctx: ContextDep, who: CallerDep, paging: PageDep, sort: Sort = None
) -> PageOut[ScanOut]:
    """Network scans, newest first."""
    page = await ctx.network_scans.search(
        who, request=paging, sort=parse_sort(sort, SCAN_SORT_FIELDS, "-started_at")
    )
    return PageOut[ScanOut].of(page, ScanOut)


@scans.get("/{resource_id}", name="get_discovery_scan", response_model=ScanDetailOut)
async def get_discovery_scan(ctx: ContextDep, who: CallerDep, resource_id: str) -> ScanDetailOut:
    """One scan with the endpoints it found."""
    scan, endpoints = await ctx.network_scans.get(who, resource_id)
    return ScanDetailOut.model_validate(
        {
            **ScanOut.model_validate(scan).model_dump(),
            "endpoints": [EndpointOut.model_validate(e) for e in endpoints],
        }
    )


@drift.get("", name="list_drift", response_model=list[DriftOut])
async def list_drift(ctx: ContextDep, who: CallerDep) -> list[DriftOut]:
    """Open drifts: mappings whose endpoint serves something other than the current version."""
    return [DriftOut.model_validate(d) for d in await ctx.drift.list(who)]
