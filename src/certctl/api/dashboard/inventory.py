"""Inventory pages: teams and owners, issuers (with their config forms) and targets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from certctl.api.dashboard import forms, issuer_forms, lookups
from certctl.api.dashboard.rendering import DashboardRoute, render
from certctl.api.dashboard.session import Visitor, VisitorDep, WriteFormDep
from certctl.api.schemas.inventory import IssuerIn, IssuerPatch, OwnerIn, TeamIn
from certctl.bootstrap import AppContext
from certctl.connectors.issuers.base import ConnectionCheck
from certctl.connectors.issuers.registry import CONFIG_MODELS
from certctl.domain.access import Permission
from certctl.domain.inventory import Issuer, IssuerType
from certctl.errors import InvalidRequest

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


async def _teams_page(
    request: Request,
    who: Visitor,
    *,
    errors: dict[str, str] | None = None,
    message: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    ctx: AppContext = request.app.state.ctx
    teams = await lookups.items(ctx, who, "teams")
    owners = await lookups.items(ctx, who, "owners")
    return render(
        request,
        "teams.html",
        status=status,
        title="Teams & owners",
        active="teams",
        teams=teams,
        owners=owners,
        team_names={t.id: t.name for t in teams},
        errors=errors or {},
        message=message,
        values=values or {},
    )


@router.get("/teams")
async def team_list(request: Request, who: VisitorDep) -> Response:
    """Teams and owners, with forms to add either."""
    return await _teams_page(request, who)


@router.post("/teams")
async def team_create(request: Request, who: VisitorDep, form: WriteFormDep) -> Response:
    """Add a team."""
    ctx: AppContext = request.app.state.ctx
    data = {"name": forms.text(form, "name"), "description": forms.text(form, "description")}
    try:
        await ctx.teams.create(who.caller, forms.validate(TeamIn, data))
    except InvalidRequest as exc:
        errors, message = forms.errors_of(exc)
        return await _teams_page(
            request, who, errors=errors, message=message, values=data, status=400
        )
    return RedirectResponse("/teams?flash=created", status_code=303)


@router.post("/owners")
async def owner_create(request: Request, who: VisitorDep, form: WriteFormDep) -> Response:
    """Add an owner."""
    ctx: AppContext = request.app.state.ctx
    data = {
        "name": forms.text(form, "owner_name"),
        "email": forms.text(form, "email"),
        "team_id": forms.optional(form, "team_id"),
        "digest": forms.text(form, "digest") or "off",
    }
    try:
        await ctx.owners.create(who.caller, forms.validate(OwnerIn, data))
    except InvalidRequest as exc:
        errors, message = forms.errors_of(
            exc, {"name": "Owner name", "team_id": "Team", "digest": "Digest"}
        )
        errors = {_owner_field(k): v for k, v in errors.items()}
        shown = {_owner_field(k): v for k, v in data.items() if v}
        return await _teams_page(
            request, who, errors=errors, message=message, values=shown, status=400
        )
    return RedirectResponse("/teams?flash=created", status_code=303)


def _owner_field(name: str) -> str:
    """The owner form names its name field apart from the team form's."""
    return "owner_name" if name == "name" else name


@router.get("/issuers")
async def issuer_list(request: Request, who: VisitorDep) -> Response:
    """Issuers with their type, state and masked config."""
    ctx: AppContext = request.app.state.ctx
    issuers = await lookups.items(ctx, who, "issuers")
    return render(
        request,
        "issuers.html",
        title="Issuers",
        active="issuers",
        issuers=issuers,
        types=[t.value for t in CONFIG_MODELS],
    )


async def _issuer_page(
    request: Request,
    who: Visitor,
    *,
    kind: IssuerType,
    issuer: Issuer | None,
    values: dict[str, Any],
    config: dict[str, Any],
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
    test_result: ConnectionCheck | None = None,
) -> Response:
    fields = issuer_forms.fields_for(kind, config)
    return render(
        request,
        "issuer_form.html",
        status=status,
        title=issuer.name if issuer else f"New {kind.value} issuer",
        active="issuers",
        issuer=issuer,
        kind=kind,
        values=values,
        fields=[(f, issuer_forms.shown(f, config)) for f in fields],
        errors=errors or {},
        message=message,
        editable=who.can(Permission.WRITE),
        test_result=test_result,
    )


def _kind(value: str | None) -> IssuerType:
    try:
        return IssuerType(value or "")
    except ValueError:
        allowed = ", ".join(t.value for t in IssuerType)
        raise InvalidRequest(f"unknown issuer type; allowed: {allowed}", field="type") from None


@router.get("/issuers/new")
async def issuer_new(request: Request, who: VisitorDep, type: str | None = None) -> Response:
    """The config form of a new issuer of the chosen type."""
    who.principal.require(Permission.WRITE)
    values = {"name": "", "enabled": True}
    return await _issuer_page(request, who, kind=_kind(type), issuer=None, values=values, config={})


@router.get("/issuers/{issuer_id}")
async def issuer_edit(request: Request, who: VisitorDep, issuer_id: str) -> Response:
    """One issuer's settings and config (secrets masked)."""
    ctx: AppContext = request.app.state.ctx
    issuer = await ctx.issuers.get(who.caller, issuer_id)
    values = {"name": issuer.name, "enabled": issuer.enabled}
    return await _issuer_page(
        request, who, kind=issuer.type, issuer=issuer, values=values, config=dict(issuer.config)
    )


@router.post("/issuers")
async def issuer_create(request: Request, who: VisitorDep, form: WriteFormDep) -> Response:
    """Create an issuer from the type's form."""
    ctx: AppContext = request.app.state.ctx
    kind = _kind(forms.text(form, "type"))
    values = {"name": forms.text(form, "name"), "enabled": forms.checkbox(form, "enabled")}
    try:
        config = issuer_forms.config_from_form(kind, form, {})
        body = forms.validate(IssuerIn, {**values, "type": kind.value, "config": config})
        created = await ctx.issuers.create(who.caller, body)
    except InvalidRequest as exc:
        errors, message = forms.errors_of(exc)
        return await _issuer_page(
            request,
            who,
            kind=kind,
            issuer=None,
            values=values,
            config=_echo(kind, form),
            errors=errors,
            message=message,
            status=400,
        )
    return RedirectResponse(f"/issuers/{created.id}?flash=created", status_code=303)


@router.post("/issuers/{issuer_id}/test")
async def issuer_test(
    request: Request, who: VisitorDep, form: WriteFormDep, issuer_id: str
) -> Response:
    """Test connection: reach the CA with the stored config and show what happened."""
    ctx: AppContext = request.app.state.ctx
    issuer, check = await ctx.issuer_tests.test(who.caller, issuer_id)
    values = {"name": issuer.name, "enabled": issuer.enabled}
    return await _issuer_page(
        request,
        who,
        kind=issuer.type,
        issuer=issuer,
        values=values,
        config=dict(issuer.config),
        test_result=check,
    )


@router.post("/issuers/{issuer_id}")
async def issuer_update(
    request: Request, who: VisitorDep, form: WriteFormDep, issuer_id: str
) -> Response:
    """Save an issuer; secrets left as ******** keep their stored values."""
    ctx: AppContext = request.app.state.ctx
    issuer = await ctx.issuers.get(who.caller, issuer_id)
    values = {"name": forms.text(form, "name"), "enabled": forms.checkbox(form, "enabled")}
    try:
        config = issuer_forms.config_from_form(issuer.type, form, issuer.config)
        body = forms.validate(IssuerPatch, {**values, "config": config})
        await ctx.issuers.update(who.caller, issuer_id, body)
    except InvalidRequest as exc:
        errors, message = forms.errors_of(exc)
        return await _issuer_page(
            request,
            who,
            kind=issuer.type,
            issuer=issuer,
            values=values,
            config={**issuer.config, **_echo(issuer.type, form)},
            errors=errors,
            message=message,
            status=400,
        )
    return RedirectResponse(f"/issuers/{issuer_id}?flash=saved", status_code=303)


def _echo(kind: IssuerType, form: Any) -> dict[str, Any]:
    """What the visitor typed, to show the refused form again (secrets stay masked)."""
    echoed: dict[str, Any] = {}
    for field in issuer_forms.ISSUER_FIELDS.get(kind, ()):
        value = forms.text(form, field.input_name)
        if value:
            echoed[field.name] = value
    return echoed


@router.get("/targets")
async def target_list(request: Request, who: VisitorDep) -> Response:
    """Deployment targets with their type, agent and masked config."""
    ctx: AppContext = request.app.state.ctx
    targets = await lookups.items(ctx, who, "targets")
    return render(request, "targets.html", title="Targets", active="targets", targets=targets)
