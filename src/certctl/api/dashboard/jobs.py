"""Job pages (approve, reject, cancel), renewals and bulk actions, and agents (retire)."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from certctl.api.dashboard import forms, lookups
from certctl.api.dashboard.rendering import DashboardRoute, page_count, past_the_end, render
from certctl.api.dashboard.session import VisitorDep, WriteFormDep
from certctl.bootstrap import AppContext
from certctl.domain.access import Permission
from certctl.domain.inventory import AgentStatus
from certctl.domain.jobs import OPEN, BulkResult, JobFilter, JobStatus, JobType
from certctl.domain.listing import MAX_PER_PAGE, PageRequest, SortKey
from certctl.errors import InvalidRequest
from certctl.services.bulk import BulkCriteria, resolve_criteria

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PER_PAGE = 50
Text = Annotated[str | None, Query(max_length=200)]


E = TypeVar("E", JobStatus, JobType, AgentStatus)


def _enum(kind: type[E], value: str | None) -> E | None:
    """A filter value, or None when empty or not one of the enum's values."""
    try:
        return kind(value) if value else None
    except ValueError:
        return None


@router.get("/jobs")
async def job_list(
    request: Request,
    who: VisitorDep,
    status: Text = None,
    type: Text = None,
    certificate_id: Text = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Jobs, newest first, with approve/reject/cancel for the open ones."""
    ctx: AppContext = request.app.state.ctx
    listing = await ctx.jobs.search(
        who.caller,
        request=PageRequest(page=page, per_page=PER_PAGE),
        filters=JobFilter(
            status=_enum(JobStatus, status),
            type=_enum(JobType, type),
            certificate_id=certificate_id or None,
        ),
        sort=SortKey("created_at", descending=True),
    )
    if (last := past_the_end(request, page, listing.total, PER_PAGE)) is not None:
        return last
    cert_names = await lookups.certificate_names(
        ctx, who, (j.certificate_id for j in listing.items)
    )
    return render(
        request,
        "jobs.html",
        cert_names=cert_names,
        title="Jobs",
        active="jobs",
        listing=listing,
        pages=page_count(listing.total, PER_PAGE),
        statuses=[s.value for s in JobStatus],
        types=[t.value for t in JobType],
        open_statuses=OPEN,
        awaiting=JobStatus.AWAITING_APPROVAL,
        chosen={
            "status": status or "",
            "type": type or "",
            "certificate_id": certificate_id or "",
        },
    )


def _back(form_next: str, flash: str) -> RedirectResponse:
    target = form_next if form_next.startswith("/jobs") else "/jobs"
    glue = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{glue}flash={flash}", status_code=303)


@router.post("/jobs/{job_id}/approve")
async def job_approve(
    request: Request, who: VisitorDep, form: WriteFormDep, job_id: str
) -> Response:
    """Approve a job awaiting approval (its requester and the certificate's owner may not)."""
    ctx: AppContext = request.app.state.ctx
    await ctx.jobs.approve(who.caller, job_id, forms.optional(form, "reason"))
    return _back(forms.text(form, "next"), "approved")


@router.post("/jobs/{job_id}/reject")
async def job_reject(
    request: Request, who: VisitorDep, form: WriteFormDep, job_id: str
) -> Response:
    """Reject a job awaiting approval; the reason is required."""
    ctx: AppContext = request.app.state.ctx
    await ctx.jobs.reject(who.caller, job_id, forms.optional(form, "reason"))
    return _back(forms.text(form, "next"), "rejected")


@router.post("/jobs/{job_id}/cancel")
async def job_cancel(
    request: Request, who: VisitorDep, form: WriteFormDep, job_id: str
) -> Response:
    """Cancel an open job."""
    ctx: AppContext = request.app.state.ctx
    await ctx.jobs.cancel(who.caller, job_id, forms.optional(form, "reason"))
    return _back(forms.text(form, "next"), "cancelled")


@router.post("/certificates/{cert_id}/renew")
async def certificate_renew(
    request: Request, who: VisitorDep, form: WriteFormDep, cert_id: str
) -> Response:
    """Queue a renewal job for one certificate."""
    ctx: AppContext = request.app.state.ctx
    await ctx.jobs.request_renewal(who.caller, cert_id)
    return RedirectResponse(f"/certificates/{cert_id}?flash=renewal_requested", status_code=303)


@router.post("/certificates/{cert_id}/deploy")
async def certificate_deploy(
    request: Request, who: VisitorDep, form: WriteFormDep, cert_id: str
) -> Response:
    """Queue a Deployment job per enabled target of one certificate."""
    ctx: AppContext = request.app.state.ctx
    await ctx.jobs.request_deploy(who.caller, cert_id)
    return RedirectResponse(f"/certificates/{cert_id}?flash=deployment_requested", status_code=303)


@router.post("/certificates/bulk")
async def certificate_bulk(request: Request, who: VisitorDep, form: WriteFormDep) -> Response:
    """Renew or revoke the ticked certificates and show what happened to each."""
    ctx: AppContext = request.app.state.ctx
    action = forms.text(form, "action")
    ids = tuple(dict.fromkeys(forms.values(form, "certificate_ids")))
    if not ids:
        raise InvalidRequest("tick at least one certificate", field="certificate_ids")
    criteria = BulkCriteria(certificate_ids=ids)
    result: BulkResult
    if action == "renew":
        result = await ctx.jobs.bulk_renew(who.caller, criteria)
    elif action == "revoke":
        who.principal.require(Permission.ADMIN)
        found, total = await resolve_criteria(ctx.runtime, criteria)
        result = await ctx.revocation.bulk_revoke(
            who.caller, found, total, forms.text(form, "reason")
        )
    else:
        raise InvalidRequest("choose renew or revoke", field="action")
    return render(
        request,
        "bulk_result.html",
        title="Bulk " + action,
        active="certificates",
        action=action,
        result=result,
    )


@router.get("/agents")
async def agent_list(
    request: Request,
    who: VisitorDep,
    status: Text = None,
    include_retired: bool = False,
) -> Response:
    """Registered agents with their last heartbeat; retire one with a reason."""
    ctx: AppContext = request.app.state.ctx
    listing = await ctx.agents.search(
        who.caller,
        request=PageRequest(per_page=MAX_PER_PAGE),
        sort=SortKey("name"),
        status=_enum(AgentStatus, status),
        include_retired=include_retired,
    )
    return render(
        request,
        "agents.html",
        title="Agents",
        active="agents",
        agents=listing.items,
        total=listing.total,
        statuses=[s.value for s in AgentStatus],
        chosen={"status": status or "", "include_retired": include_retired},
    )


@router.post("/agents/{agent_id}/retire")
async def agent_retire(
    request: Request, who: VisitorDep, form: WriteFormDep, agent_id: str
) -> Response:
    """Retire an agent (soft); the reason is required."""
    ctx: AppContext = request.app.state.ctx
    await ctx.agents.retire(who.caller, agent_id, forms.text(form, "reason"))
    return RedirectResponse("/agents?flash=retired", status_code=303)
