"""Routes of alerts: list with filters, one with its deliveries, acknowledge, resolve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from certctl.api.deps import API_PREFIX, CallerDep, ContextDep, PageDep
from certctl.api.schemas.alerts import AlertDetailOut, AlertOut, AlertResolveIn, ForecastOut
from certctl.api.schemas.common import PROBLEM_RESPONSES, PageOut
from certctl.api.schemas.notifications import NotificationOut
from certctl.domain.alert_lifecycle import AlertKind, AlertState
from certctl.domain.listing import parse_sort
from certctl.domain.policies import SeverityTier
from certctl.errors import InvalidRequest
from certctl.services.alert_forecast import ForecastScope, alert_forecast
from certctl.services.alert_records import AlertDetail, AlertFilter
from certctl.services.forecast_view import forecast_days

router = APIRouter(prefix=f"{API_PREFIX}/alerts", tags=["alerts"], responses=PROBLEM_RESPONSES)
SORT_FIELDS = ("opened_at", "updated_at", "tier", "state", "kind", "certificate_id")


def _one_of(field: str, value: str | None, allowed: list[str]) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidRequest(
            f"unknown {field} {value!r}; allowed: {', '.join(allowed)}", field=field
        )
    return value


@router.get("", name="list_alerts", response_model=PageOut[AlertOut])
async def list_alerts(
    ctx: ContextDep,
    who: CallerDep,
    paging: PageDep,
    state: str | None = None,
    kind: str | None = None,
    tier: str | None = None,
    certificate_id: str | None = None,
    owner_id: str | None = None,
    team_id: str | None = None,
    sort: Annotated[str | None, Query(description="Field, `-` prefix for descending.")] = None,
) -> PageOut[AlertOut]:
    """Alerts, newest first unless sorted otherwise; owner and team are the certificate's."""
    filters = AlertFilter(
        state=_one_of("state", state, [s.value for s in AlertState]),
        kind=_one_of("kind", kind, [k.value for k in AlertKind]),
        tier=_one_of("tier", tier, [t.value for t in SeverityTier]),
        certificate_id=certificate_id,
        owner_id=owner_id,
        team_id=team_id,
    )
    page = await ctx.alert_records.search(
        who, request=paging, sort=parse_sort(sort, SORT_FIELDS, "-opened_at"), filters=filters
    )
    return PageOut[AlertOut].of(page, AlertOut)


def detail_out(detail: AlertDetail) -> AlertDetailOut:
    """The response body of one alert with its deliveries."""
    base = AlertOut.model_validate(detail.alert).model_dump()
    deliveries = [NotificationOut.model_validate(d) for d in detail.deliveries]
    return AlertDetailOut(**base, deliveries=deliveries)


@router.get("/forecast", name="alert_forecast", response_model=ForecastOut)
async def get_alert_forecast(
    ctx: ContextDep,
    who: CallerDep,
    days: Annotated[int, Query(ge=1, le=90, description="How many days ahead (1-90).")] = 30,
    certificate_id: str | None = None,
    owner_id: str | None = None,
    team_id: str | None = None,
) -> ForecastOut:
    """Which alerts the expiry scan would send on each coming day, to whom and through which
    channel, from inventory, policies, silences and quiet hours; assumes no renewal."""
    scope = ForecastScope(certificate_id=certificate_id, owner_id=owner_id, team_id=team_id)
    found = await alert_forecast(ctx.runtime, ctx.settings, who, days=days, scope=scope)
    return ForecastOut.model_validate(forecast_days(found))


@router.get("/{resource_id}", name="get_alert", response_model=AlertDetailOut)
async def get_alert(ctx: ContextDep, who: CallerDep, resource_id: str) -> AlertDetailOut:
    """One alert with every delivery beneath it."""
    return detail_out(await ctx.alert_records.get(who, resource_id))


@router.post("/{resource_id}/ack", name="acknowledge_alert", response_model=AlertOut)
async def acknowledge_alert(ctx: ContextDep, who: CallerDep, resource_id: str) -> AlertOut:
    """Acknowledge an open alert (audited)."""
    return AlertOut.model_validate(await ctx.alert_records.acknowledge(who, resource_id))


@router.post("/{resource_id}/resolve", name="resolve_alert", response_model=AlertOut)
async def resolve_alert(
    ctx: ContextDep, who: CallerDep, resource_id: str, body: AlertResolveIn
) -> AlertOut:
    """Resolve an alert with a reason: pending deliveries are cancelled, resolve notices
    go to channels with `send_resolved` (audited)."""
    return AlertOut.model_validate(
        await ctx.alert_records.resolve(who, resource_id, reason=body.reason)
    )
