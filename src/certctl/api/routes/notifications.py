"""Routes of the outbox, notification channels and the scheduler loops."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from certctl.api.deps import API_PREFIX, CallerDep, ContextDep, PageDep
from certctl.api.routes.crud import inventory_router
from certctl.api.schemas.common import PROBLEM_RESPONSES, PageOut
from certctl.api.schemas.notifications import (
    ChannelIn,
    ChannelOut,
    ChannelPatch,
    ChannelTest,
    LoopOut,
    NotificationOut,
)
from certctl.domain.access import Permission
from certctl.domain.notifications import NotificationStatus
from certctl.errors import InvalidRequest
from certctl.scheduler.runner import Scheduler
from certctl.services.notifications import NotificationFilter

router = APIRouter(
    prefix=f"{API_PREFIX}/notifications", tags=["notifications"], responses=PROBLEM_RESPONSES
)
admin = APIRouter(prefix=f"{API_PREFIX}/admin", tags=["admin"], responses=PROBLEM_RESPONSES)
channels = inventory_router(
    path="/notification-channels",
    tag="notification-channels",
    service=lambda ctx: ctx.channels,
    create=ChannelIn,
    patch=ChannelPatch,
    out=ChannelOut,
)


@router.get("", name="list_notifications", response_model=PageOut[NotificationOut])
async def list_notifications(
    ctx: ContextDep,
    who: CallerDep,
    paging: PageDep,
    status: str | None = None,
    channel: str | None = None,
    certificate_id: str | None = None,
    kind: str | None = None,
    alert_id: str | None = None,
    silence_id: str | None = None,
    digest_id: str | None = None,
) -> PageOut[NotificationOut]:
    """Outbox rows, newest first; `status=dead` is the dead-letter list."""
    if status is not None and status not in {s.value for s in NotificationStatus}:
        allowed = ", ".join(s.value for s in NotificationStatus)
        raise InvalidRequest(f"unknown status {status!r}; allowed: {allowed}", field="status")
    filters = NotificationFilter(
        status=status,
        channel=channel,
        certificate_id=certificate_id,
        kind=kind,
        alert_id=alert_id,
        silence_id=silence_id,
        digest_id=digest_id,
    )
    page = await ctx.notifications.search(who, request=paging, filters=filters)
    return PageOut[NotificationOut].of(page, NotificationOut)


@router.get("/{resource_id}", name="get_notification", response_model=NotificationOut)
async def get_notification(ctx: ContextDep, who: CallerDep, resource_id: str) -> NotificationOut:
    """One outbox row."""
    return NotificationOut.model_validate(await ctx.notifications.get(who, resource_id))


@router.post("/{resource_id}/requeue", name="requeue_notification", response_model=NotificationOut)
async def requeue_notification(
    ctx: ContextDep, who: CallerDep, resource_id: str
) -> NotificationOut:
    """Send a failed, dead or skipped notification again from attempt 0 (audited)."""
    return NotificationOut.model_validate(await ctx.notifications.requeue(who, resource_id))


@router.post("/{resource_id}/read", name="read_notification", response_model=NotificationOut)
async def read_notification(ctx: ContextDep, who: CallerDep, resource_id: str) -> NotificationOut:
    """Mark a delivered notification as read."""
    return NotificationOut.model_validate(await ctx.notifications.mark_read(who, resource_id))


@channels.post(
    "/{resource_id}/test",
    name="test_notification_channel",
    response_model=NotificationOut,
    status_code=200,
)
async def send_channel_test(
    ctx: ContextDep, who: CallerDep, resource_id: str, body: ChannelTest | None = None
) -> NotificationOut:
    """Send a test notification through this channel now and answer the outcome."""
    recipient = body.recipient if body else None
    return NotificationOut.model_validate(
        await ctx.notifications.send_test(who, resource_id, recipient)
    )


@channels.post(
    "/environment/{channel}/test",
    name="test_environment_channel",
    response_model=NotificationOut,
    status_code=200,
)
async def send_environment_channel_test(
    ctx: ContextDep, who: CallerDep, channel: str, body: ChannelTest | None = None
) -> NotificationOut:
    """Send a test through the channel of this type set by the CERTCTL_* variables."""
    recipient = body.recipient if body else None
    return NotificationOut.model_validate(
        await ctx.notifications.send_environment_test(who, channel, recipient)
    )


def _scheduler(request: Request) -> Scheduler:
    scheduler: Scheduler = request.app.state.scheduler
    return scheduler


@admin.get("/loops", name="list_loops", response_model=list[LoopOut])
async def list_loops(request: Request, who: CallerDep) -> list[LoopOut]:
    """Scheduler loops with their last run in this server process (admin)."""
    who.principal.require(Permission.ADMIN)
    return [LoopOut.model_validate(s) for s in _scheduler(request).states.values()]


@admin.post("/loops/{resource_id}/run", name="run_loop")
async def run_loop(request: Request, who: CallerDep, resource_id: str) -> dict[str, Any]:
    """Run one tick of a loop now and answer its summary (admin)."""
    who.principal.require(Permission.ADMIN)
    return await _scheduler(request).run_once(resource_id)
