"""The dashboard home: summary cards, the 90-day expiry timeline, what expires soon.

One "expires within 7 / 30 / 90 days" window (`?within=`) drives the expiring card, the list
beside the chart and their links; all count by days left whatever the status (revoked and
archived aside), the same filter as the certificate list and the API's `expires_within_days`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from certctl.api.dashboard import timeline
from certctl.api.dashboard.rendering import DashboardRoute, render
from certctl.api.dashboard.session import Visitor, VisitorDep
from certctl.api.routes.certificates import expiring_within
from certctl.bootstrap import AppContext
from certctl.domain.access import Permission
from certctl.domain.audit import AuditFilter
from certctl.domain.certificates import CertificateFilter, ManagedCertificate
from certctl.domain.jobs import JobFilter, JobStatus
from certctl.domain.listing import PageRequest, SortKey
from certctl.services.stats import Summary

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
SOON_ROWS = 15


async def _expiring(
    ctx: AppContext, who: Visitor, now: datetime, days: int, *, from_day: int = 0, rows: int = 1
) -> tuple[int, list[ManagedCertificate]]:
    filters = expiring_within(CertificateFilter(), now, days, from_day=from_day)
    page = await ctx.certificates.search(
        who.caller, request=PageRequest(per_page=rows), sort=SortKey("expires_at"), filters=filters
    )
    return page.total, list(page.items)


async def expiry_timeline(ctx: AppContext, who: Visitor, now: datetime) -> timeline.Timeline:
    """Certificates expiring in each week of the next 90 days (revoked and archived aside)."""
    # One count query per week, one after the other: 13 indexed counts, no pool burst.
    counts = [
        (await _expiring(ctx, who, now, b.end_day, from_day=b.start_day))[0]
        for b in timeline.buckets()
    ]
    return timeline.build(now, counts)


@router.get("/")
async def overview(
    request: Request, who: VisitorDep, within: Annotated[int | None, Query()] = None
) -> Response:
    """Summary cards, the expiry timeline, what expires within the window, recent audit."""
    if not who.can(Permission.READ):
        return RedirectResponse("/audit", status_code=303)
    ctx: AppContext = request.app.state.ctx
    now = ctx.clock.now()
    window = within if within in WINDOWS else DEFAULT_WINDOW
    summary = await ctx.stats.summary(who.caller)
    soon_total, soon = await _expiring(ctx, who, now, window, rows=SOON_ROWS)
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
        cards=cards(summary, awaiting.total, window, soon_total),
        chart=await expiry_timeline(ctx, who, now),
        window=window,
        windows=WINDOWS,
        soon=soon,
        soon_total=soon_total,
        recent=recent.items if recent else None,
    )


def cards(
    summary: Summary, awaiting_approval: int, window: int, expiring: int
) -> list[tuple[str, str, int, str]]:
    """The summary cards: key, label, figure and the list behind it."""
    by_status = summary.certificates_by_status
    return [
        ("total", "Certificates", summary.total_certificates, "/certificates?include_archived=1"),
        (
            "expiring",
            f"Expiring within {window} days",
            expiring,
            f"/certificates?expires_within_days={window}",
        ),
        ("expired", "Expired", by_status.get("Expired", 0), "/certificates?status=Expired"),
        ("revoked", "Revoked", by_status.get("Revoked", 0), "/certificates?status=Revoked"),
        ("dead", "Dead notifications", summary.notifications_dead, "/notifications?tab=dead"),
        ("approval", "Jobs awaiting approval", awaiting_approval, "/jobs?status=AwaitingApproval"),
    ]
