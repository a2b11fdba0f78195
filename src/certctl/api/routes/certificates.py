"""Routes of managed certificates: CRUD (DELETE archives), import, versions and PEM."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse

from certctl.api.deps import API_PREFIX, CallerDep, ContextDep, PageDep
from certctl.api.schemas.certificates import (
    CertificateImport,
    CertificateIn,
    CertificateOut,
    CertificatePatch,
    ImportOut,
    RenewalInfoOut,
    VersionOut,
    certificate_page_json,
)
from certctl.api.schemas.common import PROBLEM_RESPONSES, PageOut
from certctl.api.schemas.routing import AlertRouteOut
from certctl.domain.certificates import CertificateFilter, CertificateStatus
from certctl.domain.listing import parse_sort
from certctl.errors import InvalidRequest
from certctl.services import routing

router = APIRouter(
    prefix=f"{API_PREFIX}/certificates", tags=["certificates"], responses=PROBLEM_RESPONSES
)

SORT_FIELDS = (
    "name",
    "common_name",
    "expires_at",
    "created_at",
    "updated_at",
    "status",
    "environment",
)


# Revoked and archived certificates will never be renewed: their expiry is not a task.
FINAL_STATUSES = frozenset({CertificateStatus.REVOKED, CertificateStatus.ARCHIVED})
MAX_WITHIN_DAYS = 3650
ExpiresWithin = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_WITHIN_DAYS,
        description="Expiring from now to this many days ahead, whatever the status "
        "(revoked and archived aside); soonest first unless sorted otherwise.",
    ),
]


def expiring_within(
    filters: CertificateFilter, now: datetime, days: int, *, from_day: int = 0
) -> CertificateFilter:
    """`filters` narrowed to certificates expiring in [now + from_day, now + days) days."""
    live = tuple(s for s in CertificateStatus if s not in FINAL_STATUSES)
    statuses = tuple(s for s in filters.statuses if s not in FINAL_STATUSES) or live
    start = now + timedelta(days=from_day)
    if filters.statuses and not set(filters.statuses) - FINAL_STATUSES:
        # Only revoked or archived asked for: nothing of theirs is "expiring".
        start = now + timedelta(days=days)
    # The repository's bounds are exclusive: one microsecond back keeps `start` itself.
    after = start - timedelta(microseconds=1)
    before = now + timedelta(days=days)
    if filters.expires_after is not None:
        after = max(after, filters.expires_after)
    if filters.expires_before is not None:
        before = min(before, filters.expires_before)
    return replace(filters, statuses=statuses, expires_after=after, expires_before=before)


def _statuses(raw: list[str]) -> tuple[CertificateStatus, ...]:
    values = [v.strip() for item in raw for v in item.split(",") if v.strip()]
    allowed = {s.value for s in CertificateStatus}
    for value in values:
        if value not in allowed:
            raise InvalidRequest(
                f"unknown status {value!r}; allowed: {', '.join(sorted(allowed))}", field="status"
            )
    return tuple(CertificateStatus(v) for v in values)


@router.get("", name="list_certificates", response_model=PageOut[CertificateOut])
async def list_certificates(
    ctx: ContextDep,
    who: CallerDep,
    paging: PageDep,
    status: Annotated[list[str], Query(description="Status, repeated or comma-separated.")] = [],  # noqa: B006
    environment: str | None = None,
    owner_id: str | None = None,
    team_id: str | None = None,
    issuer_id: str | None = None,
    profile_id: str | None = None,
    renewal_policy_id: str | None = None,
    source: str | None = None,
    expires_before: datetime | None = None,
    expires_after: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Substring of name or CN.")] = None,
    include_archived: bool = False,
    expires_within_days: ExpiresWithin = None,
    sort: Annotated[str | None, Query(description="Field, `-` prefix for descending.")] = None,
) -> Response:
    """List certificates with filters, sorting and paging (Archived hidden unless asked)."""
    filters = CertificateFilter(
        statuses=_statuses(status),
        environment=environment,
        owner_id=owner_id,
        team_id=team_id,
        issuer_id=issuer_id,
        renewal_policy_id=renewal_policy_id,
        certificate_profile_id=profile_id,
        source=source,
        expires_before=expires_before,
        expires_after=expires_after,
        q=q,
        include_archived=include_archived,
    )
    default_sort = "name"
    if expires_within_days is not None:
        filters = expiring_within(filters, ctx.clock.now(), expires_within_days)
        default_sort = "expires_at"
    page = await ctx.certificates.search_records(
        who, request=paging, sort=parse_sort(sort, SORT_FIELDS, default_sort), filters=filters
    )
    # The hottest read (SPEC C13): encoded once, straight from the records (see the schema).
    return Response(certificate_page_json(page), media_type="application/json")


@router.post("", name="create_certificate", status_code=201, response_model=CertificateOut)
async def create_certificate(
    ctx: ContextDep, who: CallerDep, body: CertificateIn, response: Response
) -> CertificateOut:
    """Register a certificate by hand."""
    cert = await ctx.certificates.create(who, body.model_dump(exclude_unset=True))
    response.headers["Location"] = f"{API_PREFIX}/certificates/{cert.id}"
    return CertificateOut.model_validate(cert)


@router.post("/import", name="import_certificate", status_code=201, response_model=ImportOut)
async def import_certificate(
    ctx: ContextDep, who: CallerDep, body: CertificateImport, response: Response
) -> ImportOut:
    """Create a certificate and its first version from a PEM's own facts."""
    fields = body.model_dump(exclude={"pem"}, exclude_none=True)
    cert, version = await ctx.certificates.import_pem(who, body.pem, fields)
    response.headers["Location"] = f"{API_PREFIX}/certificates/{cert.id}"
    return ImportOut(
        certificate=CertificateOut.model_validate(cert), version=VersionOut.model_validate(version)
    )


@router.get("/{resource_id}", name="get_certificate", response_model=CertificateOut)
async def get_certificate(ctx: ContextDep, who: CallerDep, resource_id: str) -> CertificateOut:
    """One certificate, with what its ACME CA last said about renewing it (RFC 9773)."""
    out = CertificateOut.model_validate(await ctx.certificates.get(who, resource_id))
    out.renewal_info = RenewalInfoOut.of(await ctx.jobs.renewal_info.get(resource_id))
    return out


async def update_certificate(
    ctx: ContextDep, who: CallerDep, resource_id: str, body: CertificatePatch
) -> CertificateOut:
    """Change fields (partial); status edits must follow the lifecycle, else 409."""
    changes = body.changes(CertificateIn)
    return CertificateOut.model_validate(await ctx.certificates.update(who, resource_id, changes))


for _method in ("PUT", "PATCH"):
    router.add_api_route(
        "/{resource_id}",
        update_certificate,
        methods=[_method],
        name="update_certificate",
        response_model=CertificateOut,
    )


@router.delete("/{resource_id}", name="archive_certificate", response_model=CertificateOut)
async def archive_certificate(ctx: ContextDep, who: CallerDep, resource_id: str) -> CertificateOut:
    """Archive the certificate (kept for history; no more alerts or renewals)."""
    return CertificateOut.model_validate(await ctx.certificates.archive(who, resource_id))


@router.get("/{resource_id}/alert-route", name="get_alert_route", response_model=AlertRouteOut)
async def get_alert_route(ctx: ContextDep, who: CallerDep, resource_id: str) -> AlertRouteOut:
    """Who the expiry scan would alert, per threshold and channel, and why a cell is skipped."""
    route = await routing.alert_route(ctx.runtime, ctx.settings, who, resource_id)
    return AlertRouteOut.of(route)


@router.get("/{resource_id}/versions", name="list_versions", response_model=PageOut[VersionOut])
async def list_versions(
    ctx: ContextDep, who: CallerDep, paging: PageDep, resource_id: str
) -> PageOut[VersionOut]:
    """The certificate's versions, newest first, in the list envelope."""
    found = await ctx.certificates.version_page(who, resource_id, paging=paging)
    return PageOut.of(found, VersionOut)


@router.get("/{resource_id}/versions/{version_id}", name="get_version", response_model=VersionOut)
async def get_version(
    ctx: ContextDep, who: CallerDep, resource_id: str, version_id: str
) -> VersionOut:
    """One version (`latest` for the newest)."""
    return VersionOut.model_validate(await ctx.certificates.version(who, resource_id, version_id))


@router.get(
    "/{resource_id}/versions/{version_id}/pem",
    name="get_version_pem",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
async def get_version_pem(
    ctx: ContextDep, who: CallerDep, resource_id: str, version_id: str
) -> Response:
    """The version's PEM chain, leaf first."""
    version = await ctx.certificates.version(who, resource_id, version_id)
    return Response(version.pem_chain, media_type="application/x-pem-file")
