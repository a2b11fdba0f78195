"""Test sends through a channel configured only by the CERTCTL_* variables.

A stored channel is tested by the notification service; a channel that lives in the
environment has no row to name, so it is tested by its type here. The outcome is kept as a
TEST row of the outbox and audited, like a stored channel's test, and never retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from certctl.connectors.registry import build_notifier, configs_from_settings
from certctl.domain.access import Caller, Permission
from certctl.domain.alerts import NotificationKind
from certctl.domain.ids import new_id
from certctl.domain.notifications import (
    Delivery,
    NotificationEvent,
    NotificationStatus,
    after_attempt,
)
from certctl.domain.policies import AlertChannel
from certctl.errors import CertctlError, InvalidRequest
from certctl.services.audit import record
from certctl.services.notifications import to_message
from certctl.services.runtime import Runtime
from certctl.settings import Settings


async def send_environment_test(
    runtime: Runtime,
    settings: Settings,
    http: httpx.AsyncClient,
    caller: Caller,
    *,
    channel: str,
    recipient: str | None,
) -> NotificationEvent:
    """Deliver a test notification through the environment's `channel` now (audited)."""
    caller.principal.require(Permission.WRITE)
    config = configs_from_settings(settings).get(channel)
    if config is None:
        raise InvalidRequest(
            f"channel {channel} is not configured by CERTCTL_* variables", field="channel"
        )
    now = runtime.clock.now()
    event = NotificationEvent(
        id=new_id("ne", now),
        kind=NotificationKind.TEST,
        channel=channel,
        status=NotificationStatus.PENDING,
        severity_tier="informational",
        subject=f"certctl test notification for channel {channel} (environment)",
        message=f"This is a test of the {channel} channel set by the CERTCTL_* variables.",
        incident_key=f"certctl-test-env-{channel}",
        created_at=now,
        updated_at=now,
        recipient=recipient or "",
        context={"channel": channel, "source": "environment"},
    )
    outcome = await _deliver(event, settings, http, config)
    sent = after_attempt(event, outcome, runtime.clock.now())
    async with runtime.db.uow() as uow:
        await uow.notifications.insert_new([sent])
        await record(
            uow,
            runtime,
            caller=caller,
            action="notification_channel_tested",
            resource_type="notification_channel",
            resource_id=f"environment:{channel}",
            details={
                "status": sent.status.value,
                "detail": (sent.last_error or sent.receipt or "")[:300],
            },
        )
    return sent


async def _deliver(
    event: NotificationEvent, settings: Settings, http: httpx.AsyncClient, config: Mapping[str, Any]
) -> Delivery:
    """One attempt; a test answers now or never, so every failure is permanent."""
    message = to_message(event)
    if event.channel == AlertChannel.EMAIL.value and not message.recipients:
        return Delivery(
            ok=False, detail="no recipient: type an address to test Email", permanent=True
        )
    try:
        notifier = build_notifier(
            event.channel,
            config,
            http=http,
            allow_private=settings.allow_private_targets,
            timeout=settings.notification_timeout_seconds,
        )
        receipt = await notifier.deliver(notifier.render(message))
    except CertctlError as exc:
        return Delivery(ok=False, detail=exc.detail, permanent=True)
    return Delivery(ok=True, detail=receipt.detail)
