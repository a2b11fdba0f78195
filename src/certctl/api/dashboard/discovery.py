"""The Discovery page (C8): triage found certificates, request a network scan, see drift."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.responses import RedirectResponse

from certctl.api.dashboard import forms
from certctl.api.dashboard.rendering import DashboardRoute, page_count, past_the_end, render
from certctl.api.dashboard.session import VisitorDep, WriteFormDep
from certctl.bootstrap import AppContext
from certctl.domain.discovery import DiscoveryFilter, DiscoveryStatus
from certctl.domain.listing import PageRequest, SortKey
from certctl.errors import InvalidRequest

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PER_PAGE = 50
RECENT_SCANS = 5


def _status(value: str | None) -> DiscoveryStatus | None:
    try:
        return DiscoveryStatus(value) if value else None
    except ValueError:
        return None


@router.get("/discovery")
async def discovery_page(
    request: Request,
    who: VisitorDep,
    status: Annotated[str | None, Query(max_length=32)] = "Unmanaged",
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Summary, discovered certificates with claim/dismiss, the scan form, recent scans, drift."""
    ctx: AppContext = request.app.state.ctx
    listing = await ctx.discovery.search(
        who.caller,
        request=PageRequest(page=page, per_page=PER_PAGE),
        sort=SortKey("not_after"),
        filters=DiscoveryFilter(status=_status(status), q=q or None),
    )
    if (last := past_the_end(request, page, listing.total, PER_PAGE)) is not None:
        return last
    scans = await ctx.network_scans.search(
        who.caller,
        request=PageRequest(per_page=RECENT_SCANS),
        sort=SortKey("started_at", descending=True),
    )
    return render(
        request,
        "discovery.html",
        title="Discovery",
        active="discovery",
        listing=listing,
        pages=page_count(listing.total, PER_PAGE),
        summary=await ctx.discovery.summary(who.caller),
        scans=scans.items,
        drifts=await ctx.drift.list(who.caller),
        statuses=[s.value for s in DiscoveryStatus],
        chosen={"status": status or "", "q": q or ""},
    )


@router.post("/discovery/{discovery_id}/claim")
async def discovery_claim(
    request: Request, who: VisitorDep, form: WriteFormDep, discovery_id: str
) -> Response:
    """Make a discovery a managed certificate and open it."""
    ctx: AppContext = request.app.state.ctx
    fields = {"environment": forms.optional(form, "environment")}
    claimed = await ctx.discovery.claim(
        who.caller, discovery_id, {k: v for k, v in fields.items() if v}
    )
    return RedirectResponse(f"/certificates/{claimed.certificate.id}?flash=claimed", 303)


@router.post("/discovery/{discovery_id}/dismiss")
async def discovery_dismiss(
    request: Request, who: VisitorDep, form: WriteFormDep, discovery_id: str
) -> Response:
    """Dismiss a discovery with the reason given."""
    ctx: AppContext = request.app.state.ctx
    await ctx.discovery.dismiss(who.caller, discovery_id, forms.text(form, "reason"))
    return RedirectResponse("/discovery?flash=dismissed", status_code=303)


@router.post("/discovery/scans")
async def discovery_scan(
    request: Request, who: VisitorDep, form: WriteFormDep, background: BackgroundTasks
) -> Response:
    """Request a network scan from the form (CIDRs and ports separated by spaces or commas)."""
    ctx: AppContext = request.app.state.ctx
    cidrs = forms.text(form, "cidrs").replace(",", " ").split()
    try:
        ports = [int(p) for p in forms.text(form, "ports").replace(",", " ").split()]
    except ValueError as exc:
        raise InvalidRequest("ports must be numbers", field="ports") from exc
    scan = await ctx.network_scans.start(
        who.caller, cidrs, ports, server_name=forms.optional(form, "server_name")
    )
    background.add_task(ctx.network_scans.run, scan.id)
    return RedirectResponse("/discovery?flash=scan_requested", status_code=303)
