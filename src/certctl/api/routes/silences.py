"""Routes of silences, quiet hours, routing overrides and a certificate's effective route (C3)."""

from __future__ import annotations

from fastapi import APIRouter

from certctl.api.deps import API_PREFIX, CallerDep, ContextDep
from certctl.api.routes.crud import ListQuery, inventory_router
from certctl.api.schemas.common import PROBLEM_RESPONSES
from certctl.api.schemas.route_overrides import (
    EffectiveRouteOut,
    RouteOverrideIn,
    RouteOverrideOut,
    RouteOverridePatch,
)
from certctl.api.schemas.silences import (
    QuietHoursIn,
    QuietHoursOut,
    QuietHoursPatch,
    SilenceIn,
    SilenceOut,
    SilencePatch,
)
from certctl.services.route_overrides import effective_route


class SilenceQuery(ListQuery):
    """Silence list filters."""

    team_id: str | None = None
    certificate_id: str | None = None
    channel: str | None = None


class QuietHoursQuery(ListQuery):
    """Quiet-hours list filters."""

    team_id: str | None = None
    channel: str | None = None


silences = inventory_router(
    path="/silences",
    tag="silences",
    service=lambda ctx: ctx.silences,
    create=SilenceIn,
    patch=SilencePatch,
    out=SilenceOut,
    filters=SilenceQuery,
    sort_fields=("ends_at", "starts_at", "created_at", "updated_at"),
    default_sort="-ends_at",
)
quiet_hours = inventory_router(
    path="/quiet-hours",
    tag="quiet-hours",
    service=lambda ctx: ctx.quiet_hours,
    create=QuietHoursIn,
    patch=QuietHoursPatch,
    out=QuietHoursOut,
    filters=QuietHoursQuery,
)


@silences.post("/{resource_id}/expire", name="expire_silence", response_model=SilenceOut)
async def expire_silence(ctx: ContextDep, who: CallerDep, resource_id: str) -> SilenceOut:
    """End a silence now; the deliveries it muted go out at the next dispatch (audited)."""
    return SilenceOut.model_validate(await ctx.silences.expire(who, resource_id))


class RouteOverrideQuery(ListQuery):
    """Override list filters."""

    team_id: str | None = None
    owner_id: str | None = None
    channel: str | None = None


route_overrides = inventory_router(
    path="/route-overrides",
    tag="route-overrides",
    service=lambda ctx: ctx.route_overrides,
    create=RouteOverrideIn,
    patch=RouteOverridePatch,
    out=RouteOverrideOut,
    filters=RouteOverrideQuery,
)
route = APIRouter(
    prefix=f"{API_PREFIX}/certificates", tags=["certificates"], responses=PROBLEM_RESPONSES
)


@route.get("/{resource_id}/route", name="get_effective_route", response_model=EffectiveRouteOut)
async def get_effective_route(
    ctx: ContextDep, who: CallerDep, resource_id: str
) -> EffectiveRouteOut:
    """Who gets paged for this certificate per tier, and why: an override or the matrix cell."""
    found = await effective_route(ctx.runtime, ctx.settings, who, resource_id)
    return EffectiveRouteOut.model_validate(found)
