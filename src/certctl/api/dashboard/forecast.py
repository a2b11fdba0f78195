"""The alert forecast page: the coming days as a calendar list with counts per tier."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from certctl.api.dashboard.rendering import DashboardRoute, render
from certctl.api.dashboard.session import VisitorDep
from certctl.bootstrap import AppContext
from certctl.domain.forecast import MAX_DAYS
from certctl.domain.policies import SeverityTier
from certctl.services.alert_forecast import ForecastScope, alert_forecast
from certctl.services.forecast_view import forecast_days

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
HORIZONS = (7, 14, 30, 60, 90)
Text = Annotated[str | None, Query(max_length=200)]


@router.get("/alerts/forecast")
async def forecast_page(
    request: Request,
    who: VisitorDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 30,
    team_id: Text = None,
    owner_id: Text = None,
    certificate_id: Text = None,
) -> Response:
    """Each of the next `days` days with what the scan would send, assuming no renewal."""
    ctx: AppContext = request.app.state.ctx
    scope = ForecastScope(
        certificate_id=certificate_id or None, owner_id=owner_id or None, team_id=team_id or None
    )
    found = await alert_forecast(ctx.runtime, ctx.settings, who.caller, days=days, scope=scope)
    return render(
        request,
        "alert_forecast.html",
        title="Alert forecast",
        active="forecast",
        view=forecast_days(found),
        tiers=[t.value for t in SeverityTier],
        horizons=[(str(h), f"{h} days") for h in HORIZONS],
        chosen={
            "days": str(days),
            "team_id": team_id or "",
            "owner_id": owner_id or "",
            "certificate_id": certificate_id or "",
        },
    )
