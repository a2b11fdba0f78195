"""Notification pages: the outbox (tabs All and Dead letter), requeue, and channel settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from certctl.api.dashboard import forms, lookups
from certctl.api.dashboard.rendering import DashboardRoute, render
from certctl.api.dashboard.session import VisitorDep, WriteFormDep
from certctl.bootstrap import AppContext
from certctl.domain.listing import MAX_PER_PAGE, PageRequest, SortKey
from certctl.domain.notifications import MAX_ATTEMPTS, NotificationStatus
from certctl.domain.policies import AlertChannel
from certctl.services.notifications import NotificationFilter

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PER_PAGE = 50
REQUEUEABLE = frozenset(
    {NotificationStatus.FAILED, NotificationStatus.DEAD, NotificationStatus.SKIPPED}
)
Text = Annotated[str | None, Query(max_length=200)]


@router.get("/notifications")
async def notification_list(
    request: Request,
    who: VisitorDep,
    tab: Text = None,
    status: Text = None,
    channel: Text = None,
    certificate_id: Text = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Outbox rows, newest first; the Dead letter tab lists dead rows only."""
    ctx: AppContext = request.app.state.ctx
    dead = tab == "dead"
    wanted = NotificationStatus.DEAD.value if dead else (status or None)
    if wanted not in {None, *NotificationStatus}:
        wanted = None
    listing = await ctx.notifications.search(
        who.caller,
        request=PageRequest(page=page, per_page=PER_PAGE),
        filters=NotificationFilter(
            status=wanted, channel=channel or None, certificate_id=certificate_id or None
        ),
    )
    cert_names = await lookups.certificate_names(
        ctx, who, (n.certificate_id for n in listing.items)
    )
    return render(
        request,
        "notifications.html",
        cert_names=cert_names,
        title="Dead letter" if dead else "Notifications",
        active="notifications",
        tab="dead" if dead else "all",
        listing=listing,
        pages=max(1, -(-listing.total // PER_PAGE)),
        max_attempts=MAX_ATTEMPTS,
        requeueable=REQUEUEABLE,
        statuses=[s.value for s in NotificationStatus],
        channels=[c.value for c in AlertChannel],
        chosen={
            "status": status or "",
            "channel": channel or "",
            "certificate_id": certificate_id or "",
        },
    )


@router.post("/notifications/{notification_id}/requeue")
async def notification_requeue(
    request: Request, who: VisitorDep, form: WriteFormDep, notification_id: str
) -> Response:
    """Send a failed, dead or skipped notification again from attempt 0."""
    ctx: AppContext = request.app.state.ctx
    await ctx.notifications.requeue(who.caller, notification_id)
    back = "/notifications?tab=dead" if forms.text(form, "tab") == "dead" else "/notifications"
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}flash=requeued", status_code=303)


@router.get("/settings/channels")
async def channel_list(request: Request, who: VisitorDep) -> Response:
    """Notification channels stored in the database, with a test-send form each."""
    ctx: AppContext = request.app.state.ctx
    listing = await ctx.channels.search(
        who.caller, request=PageRequest(per_page=MAX_PER_PAGE), sort=SortKey("name")
    )
    return render(
        request,
        "channels.html",
        title="Notification channels",
        active="settings",
        channels=listing.items,
        result=None,
    )


@router.post("/settings/channels/{channel_id}/test")
async def channel_test(
    request: Request, who: VisitorDep, form: WriteFormDep, channel_id: str
) -> Response:
    """Send a test notification now and show its outcome above the list."""
    ctx: AppContext = request.app.state.ctx
    sent = await ctx.notifications.send_test(
        who.caller, channel_id, forms.optional(form, "recipient")
    )
    listing = await ctx.channels.search(
        who.caller, request=PageRequest(per_page=MAX_PER_PAGE), sort=SortKey("name")
    )
    return render(
        request,
        "channels.html",
        title="Notification channels",
        active="settings",
        channels=listing.items,
        result=sent,
    )
