"""The dashboard home: summary cards, the 90-day expiry timeline, what needs attention."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from certctl.api.dashboard import timeline
from certctl.api.dashboard.rendering import DashboardRoute, render
from certctl.api.dashboard.session import Visitor, VisitorDep
from certctl.bootstrap import AppContext
from certctl.domain.access import Permission
from certctl.domain.audit import AuditFilter
from certctl.domain.certificates import CertificateFilter, CertificateStatus
from certctl.domain.jobs import JobFilter, JobStatus
from certctl.domain.listing import PageRequest, SortKey
from certctl.services.stats import Summary

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

S = CertificateStatus
# Revoked and archived certificates will never be renewed: they are not on the timeline.
LIVE = (S.PENDING, S.ACTIVE, S.EXPIRING, S.EXPIRED, S.RENEWAL_IN_PROGRESS, S.FAILED)
ATTENTION = (S.EXPIRING, S.EXPIRED, S.FAILED)
_EDGE = timedelta(microseconds=1)


async def _count(ctx: AppContext, who: Visitor, start: datetime, end: datetime) -> int:
    filters = CertificateFilter(statuses=LIVE, expires_after=start - _EDGE, expires_before=end)
    page = await ctx.certificates.search(
        who.caller, request=PageRequest(per_page=1), sort=SortKey("expires_at"), filters=filters
    )
    return page.total


async def expiry_timeline(ctx: AppContext, who: Visitor, now: datetime) -> timeline.Timeline:
    """Live certificates expiring in each week of the next 90 days."""
    # One count query per week, one after the other: 13 indexed counts, no pool burst.
    counts = [
        await _count(ctx, who, now + timedelta(days=b.start_day), now + timedelta(days=b.end_day))
        for b in timeline.buckets()
    ]
    return timeline.build(now, counts)


@router.get("/")
async def overview(request: Request, who: VisitorDep) -> Response:
    """Summary cards, the expiry timeline, certificates needing attention, recent audit."""
    if not who.can(Permission.READ):
        return RedirectResponse("/audit", status_code=303)
    ctx: AppContext = request.app.state.ctx
    now = ctx.clock.now()
    summary = await ctx.stats.summary(who.caller)
    attention = await ctx.certificates.search(
        who.caller,
        request=PageRequest(per_page=8),
        sort=SortKey("expires_at"),
        filters=CertificateFilter(statuses=ATTENTION),
    )
    awaiting = await ctx.jobs.search(
        who.caller,
        request=PageRequest(per_page=1),
        filters=JobFilter(status=JobStatus.AWAITING_APPROVAL),
        sort=SortKey("created_at"),
    )
    recent = None
    if who.can(Permission.READ_AUDIT):
        recent = await ctx.audit.search(
            who.caller, request=PageRequest(per_page=10), filters=AuditFilter()
        )
    return render(
        request,
        "overview.html",
        title="Dashboard",
        active="overview",
        cards=cards(summary, awaiting.total),
        chart=await expiry_timeline(ctx, who, now),
        attention=attention.items,
        recent=recent.items if recent else None,
    )


def cards(summary: Summary, awaiting_approval: int) -> list[tuple[str, str, int, str]]:
    """The summary cards: key, label, figure and the list behind it."""
    by_status = summary.certificates_by_status
    return [
        ("total", "Certificates", summary.total_certificates, "/certificates?include_archived=1"),
        (
            "expiring",
            "Expiring ≤ 30 d",
            summary.expiring_in_30_days,
            "/certificates?status=Expiring",
        ),
        ("expired", "Expired", by_status.get("Expired", 0), "/certificates?status=Expired"),
        ("revoked", "Revoked", by_status.get("Revoked", 0), "/certificates?status=Revoked"),
        ("dead", "Dead notifications", summary.notifications_dead, "/notifications?tab=dead"),
        ("approval", "Jobs awaiting approval", awaiting_approval, "/jobs?status=AwaitingApproval"),
    ]
