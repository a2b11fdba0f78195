"""Routes of silences and quiet hours (C3)."""

from __future__ import annotations

from certctl.api.deps import CallerDep, ContextDep
from certctl.api.routes.crud import ListQuery, inventory_router
from certctl.api.schemas.silences import (
    QuietHoursIn,
    QuietHoursOut,
    QuietHoursPatch,
    SilenceIn,
    SilenceOut,
    SilencePatch,
)


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
