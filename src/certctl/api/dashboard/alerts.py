"""Alert pages: the list (filters by state, kind, tier), one alert with its deliveries,
acknowledge and resolve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from certctl.api.dashboard import forms, lookups
from certctl.api.dashboard.rendering import DashboardRoute, page_count, past_the_end, render
from certctl.api.dashboard.session import VisitorDep, WriteFormDep
from certctl.bootstrap import AppContext
from certctl.domain.alert_lifecycle import AlertKind, AlertState
from certctl.domain.listing import PageRequest, SortKey
from certctl.domain.notifications import MAX_ATTEMPTS
from certctl.domain.policies import SeverityTier
from certctl.services.alert_records import AlertFilter

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PER_PAGE = 50
Text = Annotated[str | None, Query(max_length=200)]


def _chosen(value: str | None, allowed: list[str]) -> str | None:
    return value if value in allowed else None


@router.get("/alerts")
async def alert_list(
    request: Request,
    who: VisitorDep,
    state: Text = None,
    kind: Text = None,
    tier: Text = None,
    certificate_id: Text = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Alerts, newest first; open ones by default."""
    ctx: AppContext = request.app.state.ctx
    states, kinds, tiers = (
        [s.value for s in AlertState],
        [k.value for k in AlertKind],
        [t.value for t in SeverityTier],
    )
    wanted = "open" if state is None else _chosen(state, states)
    filters = AlertFilter(
        state=wanted,
        kind=_chosen(kind, kinds),
        tier=_chosen(tier, tiers),
        certificate_id=certificate_id or None,
    )
    listing = await ctx.alert_records.search(
        who.caller,
        request=PageRequest(page=page, per_page=PER_PAGE),
        sort=SortKey("opened_at", True),
        filters=filters,
    )
    if (last := past_the_end(request, page, listing.total, PER_PAGE)) is not None:
        return last
    cert_names = await lookups.certificate_names(
        ctx, who, (a.certificate_id for a in listing.items)
    )
    return render(
        request,
        "alerts.html",
        title="Alerts",
        active="alerts",
        listing=listing,
        cert_names=cert_names,
        pages=page_count(listing.total, PER_PAGE),
        states=states,
        kinds=kinds,
        tiers=tiers,
        chosen={
            "state": wanted or "",
            "kind": kind or "",
            "tier": tier or "",
            "certificate_id": certificate_id or "",
        },
    )


@router.get("/alerts/{alert_id}")
async def alert_page(request: Request, who: VisitorDep, alert_id: str) -> Response:
    """One alert: its state, who acted when, and every delivery beneath it."""
    ctx: AppContext = request.app.state.ctx
    detail = await ctx.alert_records.get(who.caller, alert_id)
    names = await lookups.certificate_names(ctx, who, [detail.alert.certificate_id])
    return render(
        request,
        "alert.html",
        title=f"Alert {alert_id}",
        active="alerts",
        alert=detail.alert,
        deliveries=detail.deliveries,
        cert_name=names.get(detail.alert.certificate_id, detail.alert.certificate_id),
        max_attempts=MAX_ATTEMPTS,
    )


@router.post("/alerts/{alert_id}/ack")
async def alert_acknowledge(
    request: Request, who: VisitorDep, form: WriteFormDep, alert_id: str
) -> Response:
    """Acknowledge an open alert."""
    ctx: AppContext = request.app.state.ctx
    await ctx.alert_records.acknowledge(who.caller, alert_id)
    return RedirectResponse(f"/alerts/{alert_id}?flash=acknowledged", status_code=303)


@router.post("/alerts/{alert_id}/resolve")
async def alert_resolve(
    request: Request, who: VisitorDep, form: WriteFormDep, alert_id: str
) -> Response:
    """Resolve an alert with the reason typed in the form."""
    ctx: AppContext = request.app.state.ctx
    await ctx.alert_records.resolve(who.caller, alert_id, reason=forms.text(form, "reason"))
    return RedirectResponse(f"/alerts/{alert_id}?flash=resolved", status_code=303)
