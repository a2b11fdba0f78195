"""Routes of the audit trail, API keys, the stats summary, probes and metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from certctl.api.deps import API_PREFIX, CallerDep, ContextDep, PageDep
from certctl.api.schemas.admin import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    AuditEventOut,
    AuditVerifyOut,
    Health,
    SummaryOut,
)
from certctl.api.schemas.common import PROBLEM_RESPONSES, PageOut
from certctl.domain.audit import AuditFilter

router = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
probes = APIRouter(tags=["probes"])


@router.get("/audit", tags=["audit"], name="list_audit", response_model=PageOut[AuditEventOut])
async def list_audit(
    ctx: ContextDep,
    who: CallerDep,
    paging: PageDep,
    actor: str | None = None,
    action: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    status: str | None = None,
    since: Annotated[datetime | None, Query(description="Inclusive lower bound.")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive upper bound.")] = None,
) -> PageOut[AuditEventOut]:
    """Audit events, newest first."""
    filters = AuditFilter(
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        status=status,
        since=since,
        until=until,
    )
    page = await ctx.audit.search(who, request=paging, filters=filters)
    return PageOut[AuditEventOut].of(page, AuditEventOut)


@router.get("/audit/verify", tags=["audit"], name="verify_audit", response_model=AuditVerifyOut)
async def verify_audit(ctx: ContextDep, who: CallerDep) -> AuditVerifyOut:
    """Recompute the audit hash chain (admin and auditor) and name the first broken link."""
    report = await ctx.audit.verify(who)
    return AuditVerifyOut.model_validate(
        {
            "intact": report.intact,
            "rows_checked": report.rows_checked,
            "head_hash": report.head_hash,
            "first_break": report.first_break,
        }
    )


@router.get("/stats/summary", tags=["stats"], name="stats_summary", response_model=SummaryOut)
async def stats_summary(ctx: ContextDep, who: CallerDep) -> SummaryOut:
    """Dashboard counts."""
    return SummaryOut.model_validate(await ctx.stats.summary(who))


@router.post("/api-keys", tags=["api-keys"], name="create_api_key", status_code=201)
async def create_api_key(ctx: ContextDep, who: CallerDep, body: ApiKeyIn) -> ApiKeyCreated:
    """Create a stored API key (admin); the key is shown only in this answer."""
    key, secret = await ctx.api_keys.create(who, name=body.name, role=body.role)
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=secret)


@router.get("/api-keys", tags=["api-keys"], name="list_api_keys")
async def list_api_keys(ctx: ContextDep, who: CallerDep, paging: PageDep) -> PageOut[ApiKeyOut]:
    """Stored API keys (admin)."""
    return PageOut[ApiKeyOut].of(await ctx.api_keys.search(who, request=paging), ApiKeyOut)


@router.delete("/api-keys/{resource_id}", tags=["api-keys"], name="revoke_api_key")
async def revoke_api_key(ctx: ContextDep, who: CallerDep, resource_id: str) -> ApiKeyOut:
    """Revoke a stored API key (admin)."""
    return ApiKeyOut.model_validate(await ctx.api_keys.revoke(who, resource_id))


async def prometheus(ctx: ContextDep) -> Response:
    """Prometheus exposition of every certctl series (unauthenticated scrape target)."""
    for status, count in (await ctx.stats.certificates_by_status()).items():
        ctx.metrics.certificates.labels(status=status).set(count)
    for status, count in (await ctx.stats.jobs_by_status()).items():
        ctx.metrics.jobs.labels(status=status).set(count)
    for status, count in (await ctx.stats.agents_by_status()).items():
        ctx.metrics.agents.labels(status=status).set(count)
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def prometheus_authenticated(ctx: ContextDep, who: CallerDep) -> Response:
    """The same exposition under the API prefix, behind the API key like every /api/v1 route."""
    return await prometheus(ctx)


router.add_api_route(
    "/metrics/prometheus", prometheus_authenticated, methods=["GET"], tags=["metrics"]
)
probes.add_api_route("/metrics", prometheus, methods=["GET"], include_in_schema=False)


@probes.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@probes.get("/ready", response_model=Health, responses={503: {"model": Health}})
async def ready(ctx: ContextDep) -> Response:
    """Readiness: the database answers and is migrated to head."""
    ok, detail = await ctx.stats.ready()
    body = Health(status="ok" if ok else "unavailable", detail=detail)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
