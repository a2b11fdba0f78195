"""Certificate pages: the filtered list, the detail page, revoke and PEM download."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from certctl.api.dashboard import forms, lookups
from certctl.api.dashboard.rendering import DashboardRoute, page_count, past_the_end, render
from certctl.api.dashboard.session import VisitorDep, WriteFormDep
from certctl.api.routes.certificates import MAX_WITHIN_DAYS, SORT_FIELDS, expiring_within
from certctl.bootstrap import AppContext
from certctl.domain.certificates import CertificateFilter, CertificateStatus
from certctl.domain.jobs import ISSUING, JobFilter
from certctl.domain.listing import MAX_PER_PAGE, PageRequest, SortKey, parse_sort
from certctl.domain.notifications import MAX_ATTEMPTS, NotificationEvent
from certctl.domain.revocation import RevocationReason
from certctl.errors import InvalidRequest, NotFound
from certctl.services import routing
from certctl.services.notifications import NotificationFilter
from certctl.services.route_overrides import effective_route

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

SORTS = (
    ("expires_at", "Expiry, soonest first"),
    ("-expires_at", "Expiry, latest first"),
    ("name", "Name, A to Z"),
    ("-name", "Name, Z to A"),
    ("status", "Status"),
    ("-updated_at", "Recently changed"),
)
PER_PAGE = 25
WINDOWS = (("7", "7 days"), ("30", "30 days"), ("90", "90 days"))
REASONS = tuple(r.value for r in RevocationReason)
FINAL = frozenset({CertificateStatus.REVOKED, CertificateStatus.ARCHIVED})

Text = Annotated[str | None, Query(max_length=200)]


@dataclass(frozen=True)
class CertificateQuery:
    """The list's filter form as typed ('' = not filtered)."""

    status: str = ""
    owner_id: str = ""
    team_id: str = ""
    environment: str = ""
    issuer_id: str = ""
    q: str = ""
    sort: str = "expires_at"
    include_archived: bool = False
    expires_within_days: int | None = None
    from_day: int = 0

    def to_filter(self, now: datetime) -> CertificateFilter:
        """The service filter (an unknown status filters nothing)."""
        known = self.status in {s.value for s in CertificateStatus}
        found = CertificateFilter(
            statuses=(CertificateStatus(self.status),) if known else (),
            owner_id=self.owner_id or None,
            team_id=self.team_id or None,
            environment=self.environment or None,
            issuer_id=self.issuer_id or None,
            q=self.q or None,
            include_archived=self.include_archived or self.status == CertificateStatus.ARCHIVED,
        )
        if self.expires_within_days is None:
            return found
        return expiring_within(found, now, self.expires_within_days, from_day=self.from_day)

    @property
    def window_text(self) -> str:
        """The expiry filter in words ('' when not filtered on expiry)."""
        if self.expires_within_days is None:
            return ""
        if self.from_day:
            return f"expiring in {self.from_day} to {self.expires_within_days} days"
        return f"expiring within {self.expires_within_days} days"


def certificate_query(
    status: Text = None,
    owner_id: Text = None,
    team_id: Text = None,
    environment: Text = None,
    issuer_id: Text = None,
    q: Text = None,
    sort: Text = None,
    include_archived: bool = False,
    expires_within_days: Text = None,
    from_day: Text = None,
) -> CertificateQuery:
    """The filters from the query string."""
    return CertificateQuery(
        status=status or "",
        owner_id=owner_id or "",
        team_id=team_id or "",
        environment=environment or "",
        issuer_id=issuer_id or "",
        q=q or "",
        sort=sort or "expires_at",
        include_archived=include_archived,
        expires_within_days=(within := _days(expires_within_days, "expires_within_days", 1)),
        from_day=min(_days(from_day, "from_day", 0) or 0, (within or 1) - 1),
    )


def _days(value: str | None, field: str, least: int) -> int | None:
    """A day count typed in the query string ('' = not filtered, as the empty option sends)."""
    if not value:
        return None
    if not value.isdigit() or not least <= int(value) <= MAX_WITHIN_DAYS:
        label = "Expires within" if field == "expires_within_days" else "From day"
        raise InvalidRequest(
            f"{label} must be a whole number of days, {least} to {MAX_WITHIN_DAYS}", field=field
        )
    return int(value)


@router.get("/certificates")
async def certificate_list(
    request: Request,
    who: VisitorDep,
    query: Annotated[CertificateQuery, Depends(certificate_query)],
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Certificates with filters, sorting and paging; bulk actions on the ticked rows."""
    ctx: AppContext = request.app.state.ctx
    listing = await ctx.certificates.search(
        who.caller,
        request=PageRequest(page=page, per_page=PER_PAGE),
        sort=parse_sort(query.sort, SORT_FIELDS, "expires_at"),
        filters=query.to_filter(ctx.clock.now()),
    )
    if (last := past_the_end(request, page, listing.total, PER_PAGE)) is not None:
        return last
    return render(
        request,
        "certificates.html",
        title="Certificates",
        active="certificates",
        listing=listing,
        pages=page_count(listing.total, PER_PAGE),
        names=await lookups.names(ctx, who, "owners", "teams", "issuers"),
        windows=WINDOWS,
        statuses=[s.value for s in CertificateStatus],
        sorts=SORTS,
        chosen=query,
        reasons=REASONS,
    )


@dataclass(frozen=True)
class AlertGrid:
    """Expiry alerts of one certificate: a row per threshold, a column per channel."""

    channels: tuple[str, ...]
    rows: tuple[tuple[int, tuple[NotificationEvent | None, ...]], ...]


def alert_grid(events: Sequence[NotificationEvent]) -> AlertGrid:
    """The newest outbox row per (threshold, channel), largest threshold first."""
    newest: dict[tuple[int, str], NotificationEvent] = {}
    for event in events:
        if event.threshold_days is None:
            continue
        key = (event.threshold_days, event.channel)
        current = newest.get(key)
        if current is None or event.created_at > current.created_at:
            newest[key] = event
    channels = tuple(sorted({channel for _, channel in newest}))
    thresholds = sorted({threshold for threshold, _ in newest}, reverse=True)
    rows = tuple((t, tuple(newest.get((t, c)) for c in channels)) for t in thresholds)
    return AlertGrid(channels=channels, rows=rows)


@router.get("/certificates/{cert_id}")
async def certificate_detail(request: Request, who: VisitorDep, cert_id: str) -> Response:
    """One certificate: facts, versions, targets, alerts sent, jobs and the actions."""
    ctx: AppContext = request.app.state.ctx
    cert = await ctx.certificates.get(who.caller, cert_id)
    versions = await ctx.certificates.versions(who.caller, cert_id)
    targets = []
    for target_id in cert.target_ids:
        try:
            targets.append(await ctx.targets.get(who.caller, target_id))
        except NotFound:
            continue
    notifications = await ctx.notifications.search(
        who.caller,
        request=PageRequest(per_page=MAX_PER_PAGE),
        filters=NotificationFilter(certificate_id=cert_id),
    )
    names = await lookups.names(ctx, who, "owners", "teams", "issuers", "policies")
    route = await routing.alert_route(ctx.runtime, ctx.settings, who.caller, cert_id)
    paged = await effective_route(ctx.runtime, ctx.settings, who.caller, cert_id)
    jobs = await ctx.jobs.search(
        who.caller,
        request=PageRequest(per_page=20),
        filters=JobFilter(certificate_id=cert_id),
        sort=SortKey("created_at", descending=True),
    )
    return render(
        request,
        "certificate.html",
        title=cert.name,
        active="certificates",
        cert=cert,
        versions=versions,
        targets=targets,
        alerts=alert_grid(notifications.items),
        route=route,
        paged=paged,
        max_attempts=MAX_ATTEMPTS,
        notifications=notifications.items,
        names=names,
        reasons=REASONS,
        revocable=cert.status not in FINAL,
        renewable=bool(cert.issuer_id)
        and not any(j.is_open and j.type in ISSUING for j in jobs.items),
        jobs=jobs.items,
        ari=await ctx.jobs.renewal_info.get(cert_id),
    )


@router.post("/certificates/{cert_id}/revoke")
async def certificate_revoke(
    request: Request, who: VisitorDep, form: WriteFormDep, cert_id: str
) -> Response:
    """Revoke with the chosen RFC 5280 reason; the CRL is regenerated by the service."""
    ctx: AppContext = request.app.state.ctx
    await ctx.revocation.revoke(who.caller, cert_id, forms.text(form, "reason"))
    return RedirectResponse(f"/certificates/{cert_id}?flash=revoked", status_code=303)


@router.get("/certificates/{cert_id}/versions/{version_id}/pem")
async def certificate_pem(
    request: Request, who: VisitorDep, cert_id: str, version_id: str
) -> Response:
    """Download one version's PEM chain."""
    ctx: AppContext = request.app.state.ctx
    version = await ctx.certificates.version(who.caller, cert_id, version_id)
    cert = await ctx.certificates.get(who.caller, cert_id)
    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in cert.name) or "certificate"
    return Response(
        version.pem_chain,
        media_type="application/x-pem-file",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}.pem"',
            "Cache-Control": "no-store",
        },
    )
