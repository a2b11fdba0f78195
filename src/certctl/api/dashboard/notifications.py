"""Notification pages: the outbox (tabs All and Dead letter), requeue, and channel settings."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from certctl.api.dashboard import forms, lookups
from certctl.api.dashboard.rendering import DashboardRoute, page_count, past_the_end, render
from certctl.api.dashboard.session import Visitor, VisitorDep, WriteFormDep
from certctl.bootstrap import AppContext
from certctl.domain.alerts import NotificationKind
from certctl.domain.listing import MAX_PER_PAGE, PageRequest, SortKey
from certctl.domain.notifications import MAX_ATTEMPTS, NotificationEvent, NotificationStatus
from certctl.domain.policies import AlertChannel
from certctl.services import routing
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
    digest_id: Text = None,
    silence_id: Text = None,
    watch: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None,
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
            status=wanted,
            channel=channel or None,
            certificate_id=certificate_id or None,
            digest_id=digest_id or None,
            silence_id=silence_id or None,
        ),
    )
    if (last := past_the_end(request, page, listing.total, PER_PAGE)) is not None:
        return last
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
        pages=page_count(listing.total, PER_PAGE),
        watch=watch or "",
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
    back = "/notifications?tab=dead&" if forms.text(form, "tab") == "dead" else "/notifications?"
    watched = urlencode({"flash": "requeued", "watch": notification_id})
    return RedirectResponse(f"{back}{watched}", status_code=303)


@router.get("/notifications/{notification_id}/state")
async def notification_state(request: Request, who: VisitorDep, notification_id: str) -> Response:
    """Where one notification stands, as JSON for the page that watches a requeued row."""
    ctx: AppContext = request.app.state.ctx
    event = await ctx.notifications.get(who.caller, notification_id)
    return JSONResponse(
        {
            "id": event.id,
            "status": event.status.value,
            "attempts": event.attempts,
            "max_attempts": MAX_ATTEMPTS,
            "channel": event.channel,
            "last_error": event.last_error or "",
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/settings/channels")
async def channel_list(
    request: Request,
    who: VisitorDep,
    tested: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Every channel type and where it is configured, the stored channels, their test sends."""
    ctx: AppContext = request.app.state.ctx
    result = None
    if tested:
        found = await ctx.notifications.get(who.caller, tested)
        result = found if found.kind is NotificationKind.TEST else None
    return await _channels_page(request, who, result)


async def _channels_page(
    request: Request, who: Visitor, result: NotificationEvent | None
) -> Response:
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
        setups=await routing.channel_setups(ctx.runtime, ctx.settings, who.caller),
        rate_limits=ctx.notifications.rate_limits(),
        result=result,
    )


@router.post("/settings/channels/environment/{channel}/test")
async def environment_channel_test(
    request: Request, who: VisitorDep, form: WriteFormDep, channel: str
) -> Response:
    """Send a test through a channel set by the CERTCTL_* variables; show it after a redirect."""
    ctx: AppContext = request.app.state.ctx
    sent = await ctx.notifications.send_environment_test(
        who.caller, channel, forms.optional(form, "recipient")
    )
    return RedirectResponse(f"/settings/channels?tested={sent.id}", status_code=303)


@router.post("/settings/channels/{channel_id}/test")
async def channel_test(
    request: Request, who: VisitorDep, form: WriteFormDep, channel_id: str
) -> Response:
    """Send a test notification now and show its outcome above the list."""
    ctx: AppContext = request.app.state.ctx
    sent = await ctx.notifications.send_test(
        who.caller, channel_id, forms.optional(form, "recipient")
    )
    # Post/Redirect/Get: the outcome is stored as a test row, shown by its id after the redirect.
    return RedirectResponse(f"/settings/channels?tested={sent.id}", status_code=303)
