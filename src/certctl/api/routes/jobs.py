"""Routes of jobs (approvals included), renewals, bulk operations and agents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from certctl.api.deps import API_PREFIX, CallerDep, ContextDep, PageDep
from certctl.api.schemas.common import PROBLEM_RESPONSES, PageOut
from certctl.api.schemas.jobs import (
    AgentOut,
    BulkErrorOut,
    BulkIn,
    BulkOut,
    BulkRevokeIn,
    DecisionIn,
    DeployOut,
    JobOut,
    RejectIn,
    RetireIn,
)
from certctl.domain.access import Permission
from certctl.domain.certificates import CertificateFilter
from certctl.domain.inventory import AgentStatus
from certctl.domain.jobs import BulkResult, JobFilter, JobStatus, JobType
from certctl.domain.listing import parse_sort
from certctl.services.bulk import BulkCriteria, resolve_criteria

jobs = APIRouter(prefix=f"{API_PREFIX}/jobs", tags=["jobs"], responses=PROBLEM_RESPONSES)
certificates = APIRouter(
    prefix=f"{API_PREFIX}/certificates", tags=["certificates"], responses=PROBLEM_RESPONSES
)
agents = APIRouter(prefix=f"{API_PREFIX}/agents", tags=["agents"], responses=PROBLEM_RESPONSES)

JOB_SORT_FIELDS = ("created_at", "updated_at", "scheduled_at", "status", "type", "attempts")
AGENT_SORT_FIELDS = ("name", "hostname", "status", "last_heartbeat_at", "created_at")


@jobs.get("", name="list_jobs", response_model=PageOut[JobOut])
async def list_jobs(
    ctx: ContextDep,
    who: CallerDep,
    paging: PageDep,
    status: JobStatus | None = None,
    type: JobType | None = None,
    certificate_id: str | None = None,
    agent_id: str | None = None,
    sort: Annotated[str | None, Query(description="Field, `-` prefix for descending.")] = None,
) -> PageOut[JobOut]:
    """Jobs, newest first unless sorted otherwise."""
    page = await ctx.jobs.search(
        who,
        request=paging,
        filters=JobFilter(
            status=status, type=type, certificate_id=certificate_id, agent_id=agent_id
        ),
        sort=parse_sort(sort, JOB_SORT_FIELDS, "-created_at"),
    )
    return PageOut[JobOut].of(page, JobOut)


@jobs.get("/{resource_id}", name="get_job", response_model=JobOut)
async def get_job(ctx: ContextDep, who: CallerDep, resource_id: str) -> JobOut:
    """One job."""
    return JobOut.model_validate(await ctx.jobs.get(who, resource_id))


@jobs.post("/{resource_id}/approve", name="approve_job", response_model=JobOut)
async def approve_job(
    ctx: ContextDep, who: CallerDep, resource_id: str, body: DecisionIn | None = None
) -> JobOut:
    """Approve a job awaiting approval (403 for its requester and the certificate's owner)."""
    reason = body.reason if body else None
    return JobOut.model_validate(await ctx.jobs.approve(who, resource_id, reason))


@jobs.post("/{resource_id}/reject", name="reject_job", response_model=JobOut)
async def reject_job(ctx: ContextDep, who: CallerDep, resource_id: str, body: RejectIn) -> JobOut:
    """Reject a job awaiting approval; the reason is required. The job ends Cancelled."""
    return JobOut.model_validate(await ctx.jobs.reject(who, resource_id, body.reason))


@jobs.post("/{resource_id}/cancel", name="cancel_job", response_model=JobOut)
async def cancel_job(
    ctx: ContextDep, who: CallerDep, resource_id: str, body: DecisionIn | None = None
) -> JobOut:
    """Cancel an open job (409 once it is Completed, Failed or Cancelled)."""
    reason = body.reason if body else None
    return JobOut.model_validate(await ctx.jobs.cancel(who, resource_id, reason))


@certificates.post(
    "/{resource_id}/renew", name="renew_certificate", status_code=202, response_model=JobOut
)
async def renew_certificate(ctx: ContextDep, who: CallerDep, resource_id: str) -> JobOut:
    """Queue a renewal job (202); 409 when one is already open."""
    return JobOut.model_validate(await ctx.jobs.request_renewal(who, resource_id))


@certificates.post(
    "/{resource_id}/deploy", name="deploy_certificate", status_code=202, response_model=DeployOut
)
async def deploy_certificate(ctx: ContextDep, who: CallerDep, resource_id: str) -> DeployOut:
    """Queue a Deployment job per enabled target of the certificate (202)."""
    queued = await ctx.jobs.request_deploy(who, resource_id)
    return DeployOut(jobs=[JobOut.model_validate(j) for j in queued])


def _criteria(body: BulkIn) -> BulkCriteria:
    has_filter = bool(body.status) or any(
        v is not None
        for v in (body.environment, body.owner_id, body.team_id, body.issuer_id, body.q)
    )
    filters = (
        CertificateFilter(
            statuses=tuple(body.status),
            environment=body.environment,
            owner_id=body.owner_id,
            team_id=body.team_id,
            issuer_id=body.issuer_id,
            q=body.q,
        )
        if has_filter
        else None
    )
    return BulkCriteria(certificate_ids=tuple(body.certificate_ids), filters=filters)


def _bulk_out(result: BulkResult) -> BulkOut:
    return BulkOut(
        total_matched=result.total_matched,
        total_enqueued=result.total_enqueued,
        total_skipped=result.total_skipped,
        total_failed=result.total_failed,
        errors=[BulkErrorOut(certificate_id=c, detail=d) for c, d in result.errors],
    )


@certificates.post("/bulk-renew", name="bulk_renew", response_model=BulkOut)
async def bulk_renew(ctx: ContextDep, who: CallerDep, body: BulkIn) -> BulkOut:
    """Queue renewals for the matched certificates (those with an open job are skipped)."""
    return _bulk_out(await ctx.jobs.bulk_renew(who, _criteria(body)))


@certificates.post("/bulk-revoke", name="bulk_revoke", response_model=BulkOut)
async def bulk_revoke(ctx: ContextDep, who: CallerDep, body: BulkRevokeIn) -> BulkOut:
    """Revoke the matched certificates (admin only); already revoked ones are skipped."""
    who.principal.require(Permission.ADMIN)
    ids, total = await resolve_criteria(ctx.runtime, _criteria(body))
    return _bulk_out(await ctx.revocation.bulk_revoke(who, ids, total, body.reason))


@agents.get("", name="list_agents", response_model=PageOut[AgentOut])
async def list_agents(
    ctx: ContextDep,
    who: CallerDep,
    paging: PageDep,
    status: AgentStatus | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    include_retired: bool = False,
    sort: Annotated[str | None, Query(description="Field, `-` prefix for descending.")] = None,
) -> PageOut[AgentOut]:
    """Registered agents (retired ones hidden unless asked)."""
    page = await ctx.agents.search(
        who,
        request=paging,
        sort=parse_sort(sort, AGENT_SORT_FIELDS, "name"),
        status=status,
        q=q,
        include_retired=include_retired,
    )
    return PageOut[AgentOut].of(page, AgentOut)


@agents.get("/{resource_id}", name="get_agent", response_model=AgentOut)
async def get_agent(ctx: ContextDep, who: CallerDep, resource_id: str) -> AgentOut:
    """One agent."""
    return AgentOut.model_validate(await ctx.agents.get(who, resource_id))


@agents.post("/{resource_id}/retire", name="retire_agent", response_model=AgentOut)
async def retire_agent(
    ctx: ContextDep, who: CallerDep, resource_id: str, body: RetireIn
) -> AgentOut:
    """Retire an agent (soft: kept for history); the reason is required."""
    return AgentOut.model_validate(await ctx.agents.retire(who, resource_id, body.reason))
