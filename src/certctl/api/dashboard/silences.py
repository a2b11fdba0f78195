"""Silences, quiet hours and routing overrides page: list them, add them, expire a silence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from certctl.api.dashboard import forms, lookups
from certctl.api.dashboard.rendering import DashboardRoute, render
from certctl.api.dashboard.session import Visitor, VisitorDep, WriteFormDep
from certctl.api.schemas.route_overrides import RouteOverrideIn
from certctl.api.schemas.silences import QuietHoursIn, SilenceIn
from certctl.bootstrap import AppContext
from certctl.domain.listing import MAX_PER_PAGE, PageRequest, SortKey
from certctl.domain.policies import AlertChannel, SeverityTier
from certctl.domain.quiet_hours import WEEKDAYS
from certctl.domain.silences import MATCHERS
from certctl.errors import InvalidRequest

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


async def _page(
    request: Request,
    who: Visitor,
    *,
    errors: dict[str, str] | None = None,
    message: str = "",
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    ctx: AppContext = request.app.state.ctx
    silences = await ctx.silences.search(
        who.caller, request=PageRequest(per_page=MAX_PER_PAGE), sort=SortKey("ends_at", True)
    )
    quiet = await ctx.quiet_hours.search(
        who.caller, request=PageRequest(per_page=MAX_PER_PAGE), sort=SortKey("name")
    )
    teams = await lookups.items(ctx, who, "teams")
    overrides = await ctx.route_overrides.search(
        who.caller, request=PageRequest(per_page=MAX_PER_PAGE), sort=SortKey("name")
    )
    return render(
        request,
        "silences.html",
        status=status,
        title="Silences, quiet hours & routing",
        active="silences",
        silences=silences.items,
        quiet_hours=quiet.items,
        overrides=overrides.items,
        tiers=[t.value for t in SeverityTier],
        now=ctx.clock.now(),
        matchers=MATCHERS,
        team_names={t.id: t.name for t in teams},
        channels=[c.value for c in AlertChannel],
        weekdays=WEEKDAYS,
        errors=errors or {},
        message=message,
        values=values or {},
    )


@router.get("/silences")
async def silence_list(request: Request, who: VisitorDep) -> Response:
    """Every silence (active, scheduled, ended) and quiet window, with forms to add them."""
    return await _page(request, who)


@router.post("/silences")
async def silence_create(request: Request, who: VisitorDep, form: WriteFormDep) -> Response:
    """Create a silence lasting the given hours from now."""
    ctx: AppContext = request.app.state.ctx
    data: dict[str, Any] = {m: forms.optional(form, m) for m in MATCHERS}
    data["reason"] = forms.text(form, "reason")
    hours = forms.number(form, "hours")
    shown = {**data, "hours": hours}
    try:
        if not isinstance(hours, int) or not 1 <= hours <= 90 * 24:
            raise InvalidRequest("a whole number of hours from 1 to 2160", field="hours")
        data["ends_at"] = ctx.clock.now() + timedelta(hours=hours)
        body = forms.validate(SilenceIn, {k: v for k, v in data.items() if v is not None})
        await ctx.silences.create(who.caller, body)
    except InvalidRequest as exc:
        errors, message = forms.errors_of(exc, {"ends_at": "Hours", "matchers": "Matchers"})
        return await _page(request, who, errors=errors, message=message, values=shown, status=400)
    return RedirectResponse("/silences?flash=created", status_code=303)


@router.post("/silences/{silence_id}/expire")
async def silence_expire(
    request: Request, who: VisitorDep, form: WriteFormDep, silence_id: str
) -> Response:
    """End a silence now; what it muted goes out at the next dispatch."""
    ctx: AppContext = request.app.state.ctx
    await ctx.silences.expire(who.caller, silence_id)
    return RedirectResponse("/silences?flash=expired", status_code=303)


@router.post("/quiet-hours")
async def quiet_hours_create(request: Request, who: VisitorDep, form: WriteFormDep) -> Response:
    """Add a quiet window for a team, a channel or both."""
    ctx: AppContext = request.app.state.ctx
    data: dict[str, Any] = {
        "name": forms.text(form, "qh_name"),
        "weekdays": forms.values(form, "weekdays"),
        "start": forms.text(form, "start"),
        "end": forms.text(form, "end"),
        "timezone": forms.text(form, "timezone"),
        "team_id": forms.optional(form, "qh_team_id"),
        "channel": forms.optional(form, "qh_channel"),
    }
    try:
        body = forms.validate(QuietHoursIn, {k: v for k, v in data.items() if v is not None})
        await ctx.quiet_hours.create(who.caller, body)
    except InvalidRequest as exc:
        errors, message = forms.errors_of(exc)
        renamed = {_quiet_field(k): v for k, v in errors.items()}
        shown = {_quiet_field(k): v for k, v in data.items()}
        return await _page(request, who, errors=renamed, message=message, values=shown, status=400)
    return RedirectResponse("/silences?flash=created", status_code=303)


def _quiet_field(name: str) -> str:
    """The quiet-hours form names the fields it shares with the silence form apart."""
    base = name.split(".", maxsplit=1)[0]
    return f"qh_{base}" if base in {"name", "team_id", "channel"} else base


DESTINATION_FIELD = {
    "Slack": "webhook_url",
    "Teams": "webhook_url",
    "PagerDuty": "routing_key",
    "OpsGenie": "responders",
    "Webhook": "url",
    "Email": "recipients",
}
"""The one field the page's form sets per channel (the API takes every override field)."""


@router.post("/route-overrides")
async def route_override_create(request: Request, who: VisitorDep, form: WriteFormDep) -> Response:
    """Give a team or owner its own destination for one channel."""
    ctx: AppContext = request.app.state.ctx
    channel = forms.text(form, "ro_channel")
    destination = forms.text(form, "destination")
    key = DESTINATION_FIELD.get(channel, "destination")
    listed = key in {"recipients", "responders"}
    value: Any = [v.strip() for v in destination.split(",") if v.strip()] if listed else destination
    data: dict[str, Any] = {
        "name": forms.text(form, "ro_name"),
        "channel": channel,
        "team_id": forms.optional(form, "ro_team_id"),
        "owner_id": forms.optional(form, "ro_owner_id"),
        "tier": forms.optional(form, "ro_tier"),
        "config": {key: value} if destination else {},
    }
    shown = {f"ro_{k}": v for k, v in data.items() if k != "config"} | {"destination": destination}
    try:
        body = forms.validate(RouteOverrideIn, {k: v for k, v in data.items() if v is not None})
        await ctx.route_overrides.create(who.caller, body)
    except InvalidRequest as exc:
        errors, message = forms.errors_of(exc)
        renamed = {_override_field(k): v for k, v in errors.items()}
        return await _page(request, who, errors=renamed, message=message, values=shown, status=400)
    return RedirectResponse("/silences?flash=created", status_code=303)


def _override_field(name: str) -> str:
    """Form field names of the override form (its config is the one destination field)."""
    base = name.split(".", maxsplit=1)[0]
    return "destination" if base == "config" else f"ro_{base}"
