"""Renewal policy pages: list, create and edit, with the alert-matrix editor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from certctl.api.dashboard import forms, lookups, matrix
from certctl.api.dashboard.rendering import DashboardRoute, render
from certctl.api.dashboard.session import Visitor, VisitorDep, WriteFormDep
from certctl.api.schemas.policies import PolicyIn, PolicyPatch
from certctl.bootstrap import AppContext
from certctl.domain.access import Permission
from certctl.domain.listing import MAX_PER_PAGE, PageRequest, SortKey
from certctl.domain.policies import RenewalPolicy
from certctl.errors import InvalidRequest
from certctl.services import routing

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

NUMBERS = ("renewal_window_days", "max_retries", "retry_interval_seconds")
LABELS = {
    "name": "Name",
    "description": "Description",
    "renewal_window_days": "Renewal window",
    "max_retries": "Retries",
    "retry_interval_seconds": "Retry interval",
    "certificate_profile_id": "Certificate profile",
    "agent_group_id": "Agent group",
    "alert_thresholds_days": "Thresholds",
    "alert_severity_map": "Tier of a threshold",
    "alert_channels": "Channels per tier",
    "escalation_after_minutes": "Escalate after",
    "escalation_channels": "Escalation channels",
}


@router.get("/policies")
async def policy_list(request: Request, who: VisitorDep) -> Response:
    """Every renewal policy with its effective alert matrix."""
    ctx: AppContext = request.app.state.ctx
    listing = await ctx.policies.search(
        who.caller, request=PageRequest(per_page=MAX_PER_PAGE), sort=SortKey("name")
    )
    rows = [(p, matrix.effective(p)) for p in listing.items]
    setups = await routing.channel_setups(ctx.runtime, ctx.settings, who.caller)
    return render(
        request,
        "policies.html",
        title="Renewal policies",
        active="policies",
        rows=rows,
        setups={s.channel: s for s in setups},
    )


def _values(policy: RenewalPolicy | None) -> dict[str, Any]:
    """The plain fields of the form, from a stored policy or the defaults."""
    if policy is None:
        return {
            "name": "",
            "description": "",
            "renewal_window_days": "30",
            "auto_renew": True,
            "max_retries": "3",
            "retry_interval_seconds": "3600",
            "certificate_profile_id": "",
            "agent_group_id": "",
            "escalation_after_minutes": "",
            "escalation_channels": [],
        }
    return {
        "name": policy.name,
        "description": policy.description,
        "renewal_window_days": str(policy.renewal_window_days),
        "auto_renew": policy.auto_renew,
        "max_retries": str(policy.max_retries),
        "retry_interval_seconds": str(policy.retry_interval_seconds),
        "certificate_profile_id": policy.certificate_profile_id or "",
        "agent_group_id": policy.agent_group_id or "",
        "escalation_after_minutes": _blank_or(policy.escalation_after_minutes),
        "escalation_channels": list(policy.escalation_channels),
    }


def _blank_or(minutes: int | None) -> str:
    return "" if minutes is None else str(minutes)


async def _form_page(
    request: Request,
    who: Visitor,
    *,
    policy: RenewalPolicy | None,
    values: dict[str, Any],
    editor: matrix.MatrixForm,
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    ctx: AppContext = request.app.state.ctx
    names = await lookups.names(ctx, who, "profiles", "agent_groups")
    return render(
        request,
        "policy_form.html",
        status=status,
        title=policy.name if policy else "New renewal policy",
        active="policies",
        policy=policy,
        values=values,
        editor=editor,
        effective=matrix.effective(policy) if policy else matrix.effective(None),
        setups={
            s.channel: s
            for s in await routing.channel_setups(ctx.runtime, ctx.settings, who.caller)
        },
        tiers=matrix.TIERS,
        channels=matrix.CHANNELS,
        names=names,
        errors=errors or {},
        message=message,
        editable=who.can(Permission.WRITE),
    )


@router.get("/policies/new")
async def policy_new(request: Request, who: VisitorDep) -> Response:
    """An empty policy form with the default thresholds and matrix."""
    who.principal.require(Permission.WRITE)
    return await _form_page(
        request, who, policy=None, values=_values(None), editor=matrix.from_policy(None)
    )


@router.get("/policies/{policy_id}")
async def policy_edit(request: Request, who: VisitorDep, policy_id: str) -> Response:
    """One policy: its settings, the matrix editor and the effective matrix."""
    ctx: AppContext = request.app.state.ctx
    policy = await ctx.policies.get(who.caller, policy_id)
    return await _form_page(
        request, who, policy=policy, values=_values(policy), editor=matrix.from_policy(policy)
    )


def _submitted(form: FormData) -> tuple[dict[str, Any], matrix.MatrixForm]:
    values: dict[str, Any] = {name: forms.number(form, name) for name in NUMBERS}
    values.update(
        name=forms.text(form, "name"),
        description=forms.text(form, "description"),
        auto_renew=forms.checkbox(form, "auto_renew"),
        certificate_profile_id=forms.text(form, "certificate_profile_id"),
        agent_group_id=forms.text(form, "agent_group_id"),
        # An empty delay means no escalation, so it is sent as null, not as "".
        escalation_after_minutes=(
            forms.number(form, "escalation_after_minutes")
            if forms.text(form, "escalation_after_minutes")
            else None
        ),
        escalation_channels=forms.values(form, "escalation_channels"),
    )
    editor = matrix.from_form(
        forms.values(form, "threshold"),
        forms.values(form, "tier"),
        forms.text(form, "matrix_mode"),
        {tier: forms.values(form, f"channels.{tier}") for tier in matrix.TIERS},
    )
    return values, editor


def _payload(values: dict[str, Any], editor: matrix.MatrixForm) -> dict[str, Any]:
    fields, errors = matrix.to_fields(editor)
    if errors:
        raise InvalidRequest.many(errors)
    refs = {k: values[k] or None for k in ("certificate_profile_id", "agent_group_id")}
    return {**values, **refs, **fields}


@router.post("/policies")
async def policy_create(request: Request, who: VisitorDep, form: WriteFormDep) -> Response:
    """Create a policy from the form; errors are shown next to the fields."""
    ctx: AppContext = request.app.state.ctx
    values, editor = _submitted(form)
    try:
        body = forms.validate(PolicyIn, _payload(values, editor))
        created = await ctx.policies.create(who.caller, body)
    except InvalidRequest as exc:
        errors, message = forms.errors_of(exc, LABELS)
        return await _form_page(
            request,
            who,
            policy=None,
            values=values,
            editor=editor,
            errors=errors,
            message=message,
            status=400,
        )
    return RedirectResponse(f"/policies/{created.id}?flash=created", status_code=303)


@router.post("/policies/{policy_id}")
async def policy_update(
    request: Request, who: VisitorDep, form: WriteFormDep, policy_id: str
) -> Response:
    """Save the policy's settings and matrix; errors are shown next to the fields."""
    ctx: AppContext = request.app.state.ctx
    policy = await ctx.policies.get(who.caller, policy_id)
    values, editor = _submitted(form)
    try:
        body = forms.validate(PolicyPatch, _payload(values, editor))
        await ctx.policies.update(who.caller, policy_id, body)
    except InvalidRequest as exc:
        errors, message = forms.errors_of(exc, LABELS)
        return await _form_page(
            request,
            who,
            policy=policy,
            values=values,
            editor=editor,
            errors=errors,
            message=message,
            status=400,
        )
    return RedirectResponse(f"/policies/{policy_id}?flash=saved", status_code=303)
