"""Outbox delivery (dispatch, retry, dead letter), requeue, listing and test sends (C4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from certctl.connectors.notifiers.base import Notifier
from certctl.connectors.notifiers.transport import HttpTransport
from certctl.connectors.registry import build_notifier, configs_from_settings, validate_config
from certctl.db.repositories.notifications import NotificationFilter
from certctl.domain.access import SYSTEM_CALLER, Caller, Permission
from certctl.domain.alerts import AlertMessage, NotificationKind
from certctl.domain.audit import AuditEvent
from certctl.domain.ids import new_id
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.domain.notifications import (
    Delivery,
    NotificationEvent,
    NotificationStatus,
    after_attempt,
    delivery_lease,
    requeued,
)
from certctl.domain.policies import AlertChannel
from certctl.domain.ratelimit_windows import ChannelRateLimit
from certctl.errors import CertctlError, Conflict, ConnectorError, InvalidRequest
from certctl.metrics import Metrics
from certctl.services.audit import audit_event, record
from certctl.services.delivery import DeliveryPipeline
from certctl.services.gates import DeliveryGate
from certctl.services.route_overrides import RoutedNotifiers
from certctl.services.runtime import Runtime
from certctl.services.secrets import reveal_config
from certctl.settings import Settings

log = structlog.get_logger("certctl.notifications")

__all__ = ["DispatchSummary", "NotificationFilter", "NotificationService"]


@dataclass
class DispatchSummary:
    """What one dispatch tick did."""

    loop: str
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    silenced: int = 0
    held: int = 0
    digested: int = 0


class NotificationService:
    """Delivers outbox rows through the configured notifiers."""

    def __init__(
        self, runtime: Runtime, metrics: Metrics, settings: Settings, http: HttpTransport
    ) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.settings = settings
        self.http = http

    async def channel_configs(self) -> dict[str, Mapping[str, Any]]:
        """Each channel's configuration: database channels override the environment."""
        configs: dict[str, Mapping[str, Any]] = dict(configs_from_settings(self.settings))
        async with self.runtime.db.uow() as uow:
            page = await uow.channels.page(
                request=PageRequest(per_page=500), sort=SortKey("name"), equals={"enabled": True}
            )
        for channel in reversed(page.items):
            configs[channel.channel] = reveal_config(
                channel.config, channel.sealed_secrets, self.runtime.sealer
            )
        return configs

    async def notifiers(
        self, configs: Mapping[str, Mapping[str, Any]] | None = None
    ) -> dict[str, Notifier | str]:
        """One notifier per configured channel."""
        if configs is None:
            configs = await self.channel_configs()
        built: dict[str, Notifier | str] = {}
        for name, config in configs.items():
            try:
                built[name] = self._build(name, config)
            except CertctlError as exc:
                # One misconfigured channel must not stop the others: its rows fail (and
                # retry, so a fixed configuration is picked up) with the reason.
                log.error("notification.channel_misconfigured", channel=name, error=exc.detail)
                built[name] = f"channel {name} is misconfigured: {exc.detail}"
        return built

    def _lease(self) -> timedelta:
        """A claimed row's lease: one attempt's hard limit plus recording its result."""
        return delivery_lease(self.settings.notification_timeout_seconds)

    def _attempt_limit(self) -> timedelta:
        """The most one attempt may take, whatever the channel's own timeouts do."""
        return timedelta(seconds=1.5 * self.settings.notification_timeout_seconds + 1)

    def _build(self, channel: str, config: Mapping[str, Any]) -> Notifier:
        return build_notifier(
            channel,
            config,
            http=self.http,
            allow_private=self.settings.allow_private_targets,
            timeout=self.settings.notification_timeout_seconds,
        )

    async def dispatch(self, *, retries: bool = False) -> DispatchSummary:
        """Deliver due rows until none is left; `retries` includes failed rows that are due."""
        summary = DispatchSummary(loop="notification_retry" if retries else "notification_dispatch")
        configs = await self.channel_configs()
        notifiers = await self.notifiers(configs)
        gate = await DeliveryGate.load(self.runtime, self.rate_limits(), self.settings.public_url)
        routed = RoutedNotifiers(self._build, configs, notifiers)

        async def claim_due(
            limit: int, only: str | None, exclude: tuple[str, ...]
        ) -> list[NotificationEvent]:
            now = self.runtime.clock.now()
            async with self.runtime.db.uow() as uow:
                events = await uow.notifications.claim_due(
                    now=now,
                    lease_until=now + self._lease(),
                    limit=limit,
                    retries=retries,
                    channel=only,
                    exclude_channels=exclude,
                )
            summary.claimed += len(events)
            return events

        async def claim(
            limit: int, only: str | None, exclude: tuple[str, ...]
        ) -> list[NotificationEvent]:
            if gate.idle:
                return await claim_due(limit, only, exclude)
            # Gated rows take no slot: claim again until `limit` rows may go out or none is due.
            kept: list[NotificationEvent] = []
            while len(kept) < limit:
                wanted = limit - len(kept)
                claimed = await claim_due(wanted, only, exclude)
                kept += await gate.screen(claimed)
                if len(claimed) < wanted:
                    break
            return kept

        async def attempt(event: NotificationEvent) -> Delivery:
            route = gate.routes.get(event.id)
            if route is None:
                return await self._attempt(event, notifiers.get(event.channel))
            # A team's or owner's own destination for this channel (C3 per-team routing).
            notifier, recipients = routed.of(route)
            return await self._attempt(event, notifier, recipients)

        async def record(results: Sequence[tuple[NotificationEvent, datetime]]) -> None:
            await self._record(results, summary)

        pipeline = DeliveryPipeline(
            claim=claim,
            attempt=attempt,
            record=record,
            now=self.runtime.clock.now,
            concurrency=self.settings.notification_concurrency,
            attempt_limit=self._attempt_limit(),
            channel_limits=self.settings.notification_channel_concurrency,
        )
        await pipeline.run()
        summary.silenced, summary.held = gate.counts.silenced, gate.counts.held
        summary.digested = gate.counts.digested
        await self.refresh_dead_gauge()
        return summary

    def rate_limits(self) -> dict[str, ChannelRateLimit]:
        """The per-channel rate limits of CERTCTL_NOTIFICATION_RATE_LIMITS (checked at start)."""
        return {
            channel: ChannelRateLimit.parse(channel, value)
            for channel, value in self.settings.notification_rate_limits.items()
        }

    async def _record(
        self, results: Sequence[tuple[NotificationEvent, datetime]], summary: DispatchSummary
    ) -> None:
        """Write finished attempts (and the audit row of each new dead letter) in one commit."""
        async with self.runtime.db.uow() as uow:
            await uow.notifications.record_results(results)
            await uow.audit.add_all(
                [self._dead_audit(e) for e, _ in results if e.status is NotificationStatus.DEAD]
            )
        for event, _ in results:
            self._observe(event, summary)

    async def _attempt(
        self,
        event: NotificationEvent,
        notifier: Notifier | str | None,
        recipients: tuple[str, ...] | None = None,
    ) -> Delivery:
        if notifier is None:
            return Delivery(
                ok=False, skipped=True, detail=f"channel {event.channel} is not configured"
            )
        if isinstance(notifier, str):
            return Delivery(ok=False, detail=notifier)
        message = to_message(event)
        if recipients is not None:
            message = replace(message, recipients=recipients)
        if event.channel == AlertChannel.EMAIL.value and not message.recipients:
            return Delivery(
                ok=False, skipped=True, detail="no recipient: the certificate has no owner email"
            )
        try:
            receipt = await notifier.deliver(notifier.render(message))
        except CertctlError as exc:
            log.warning(
                "notification.failed",
                notification_id=event.id,
                channel=event.channel,
                error=exc.detail,
            )
            permanent = isinstance(exc, ConnectorError) and exc.permanent
            retry_after = exc.retry_after if isinstance(exc, ConnectorError) else None
            return Delivery(
                ok=False, detail=exc.detail, permanent=permanent, retry_after=retry_after
            )
        log.info("notification.sent", notification_id=event.id, channel=event.channel)
        return Delivery(ok=True, detail=receipt.detail)

    def _dead_audit(self, event: NotificationEvent) -> AuditEvent:
        return audit_event(
            self.runtime,
            caller=SYSTEM_CALLER,
            action="notification_dead",
            resource_type="notification",
            resource_id=event.id,
            details={
                "channel": event.channel,
                "certificate_id": event.certificate_id,
                "threshold_days": event.threshold_days,
                "attempts": event.attempts,
                "last_error": (event.last_error or "")[:500],
            },
        )

    def _observe(self, event: NotificationEvent, summary: DispatchSummary) -> None:
        result = event.status.value
        setattr(summary, result, getattr(summary, result) + 1)
        self.metrics.deliveries.labels(channel=event.channel, result=result).inc()
        if (
            event.kind is NotificationKind.EXPIRATION
            and event.status is not NotificationStatus.SKIPPED
        ):
            outcome = "success" if event.status is NotificationStatus.SENT else "failure"
            threshold = event.context.get("threshold") or event.threshold_days
            self.metrics.expiry_alerts.labels(
                channel=event.channel, threshold=str(threshold), result=outcome
            ).inc()

    async def refresh_dead_gauge(self) -> int:
        """Set certctl_notification_dead_total from the database and return it."""
        async with self.runtime.db.uow() as uow:
            dead = await uow.notifications.count_status(NotificationStatus.DEAD)
        self.metrics.notifications_dead.set(dead)
        return dead

    async def search(
        self, caller: Caller, *, request: PageRequest, filters: NotificationFilter
    ) -> Page[NotificationEvent]:
        """Outbox rows, newest first (status=dead is the dead-letter list)."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await uow.notifications.search(request=request, filters=filters)

    async def get(self, caller: Caller, notification_id: str) -> NotificationEvent:
        """One outbox row."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await uow.notifications.require(notification_id)

    async def requeue(self, caller: Caller, notification_id: str) -> NotificationEvent:
        """Reset a failed, dead or skipped row to pending with attempts 0 (audited)."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            before = await uow.notifications.require(notification_id)
            after = requeued(before, self.runtime.clock.now())
            await uow.notifications.save(after)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="notification_requeued",
                resource_type="notification",
                resource_id=notification_id,
                details={"previous_status": before.status.value, "attempts": before.attempts},
            )
        await self.refresh_dead_gauge()
        return after

    async def mark_read(self, caller: Caller, notification_id: str) -> NotificationEvent:
        """Mark a delivered row as read by a person."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            before = await uow.notifications.require(notification_id)
            if before.status not in (NotificationStatus.SENT, NotificationStatus.READ):
                raise Conflict(
                    f"only sent notifications can be marked read, not {before.status.value}"
                )
            now = self.runtime.clock.now()
            after = replace(before, status=NotificationStatus.READ, read_at=now, updated_at=now)
            await uow.notifications.save(after)
        return after

    async def send_test(
        self, caller: Caller, channel_id: str, recipient: str | None
    ) -> NotificationEvent:
        """Deliver a test notification through one database channel now (audited)."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            channel = await uow.channels.require(channel_id)
        notifier = self._build(
            channel.channel,
            reveal_config(channel.config, channel.sealed_secrets, self.runtime.sealer),
        )
        return await self._send_test(
            caller,
            notifier,
            channel=channel.channel,
            resource_id=channel.id,
            subject=f"certctl test notification for channel {channel.name}",
            message=f"This is a test of the {channel.channel} channel {channel.name!r}.",
            context={"channel_id": channel.id},
            recipient=recipient,
        )

    async def send_environment_test(
        self, caller: Caller, channel: str, recipient: str | None
    ) -> NotificationEvent:
        """Deliver a test through a channel set by the CERTCTL_* variables now (audited).

        A configuration the notifier refuses is the test's failure, shown with its reason.
        """
        caller.principal.require(Permission.WRITE)
        config = configs_from_settings(self.settings).get(channel)
        if config is None:
            raise InvalidRequest(
                f"channel {channel} is not configured by CERTCTL_* variables", field="channel"
            )
        notifier: Notifier | str
        try:
            notifier = self._build(channel, config)
        except CertctlError as exc:
            notifier = f"channel {channel} is misconfigured: {exc.detail}"
        return await self._send_test(
            caller,
            notifier,
            channel=channel,
            resource_id=f"environment:{channel}",
            subject=f"certctl test notification for channel {channel} (environment)",
            message=f"This is a test of the {channel} channel set by the CERTCTL_* variables.",
            context={"channel": channel, "source": "environment"},
            recipient=recipient,
        )

    async def _send_test(
        self,
        caller: Caller,
        notifier: Notifier | str,
        *,
        channel: str,
        resource_id: str,
        subject: str,
        message: str,
        context: Mapping[str, Any],
        recipient: str | None,
    ) -> NotificationEvent:
        now = self.runtime.clock.now()
        event = NotificationEvent(
            id=new_id("ne", now),
            kind=NotificationKind.TEST,
            channel=channel,
            status=NotificationStatus.PENDING,
            severity_tier="informational",
            subject=subject,
            message=message,
            incident_key=f"certctl-test-{resource_id}",
            created_at=now,
            updated_at=now,
            recipient=recipient or "",
            context=context,
        )
        outcome = await self._attempt(event, notifier)
        # A test answers now or never: it is not retried later (through whatever channel of
        # that type is configured by then).
        outcome = replace(outcome, permanent=True)
        sent = after_attempt(event, outcome, self.runtime.clock.now())
        async with self.runtime.db.uow() as uow:
            await uow.notifications.insert_new([sent])
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="notification_channel_tested",
                resource_type="notification_channel",
                resource_id=resource_id,
                details={
                    "status": sent.status.value,
                    "detail": (sent.last_error or sent.receipt or "")[:300],
                },
            )
        self.metrics.deliveries.labels(channel=sent.channel, result=sent.status.value).inc()
        return sent


def to_message(event: NotificationEvent) -> AlertMessage:
    """The notifier-facing message of an outbox row."""
    ctx = event.context
    expires = ctx.get("expires_at")
    return AlertMessage(
        notification_id=event.id,
        kind=event.kind,
        channel=event.channel,
        subject=event.subject,
        body=event.message,
        severity_tier=event.severity_tier,
        occurred_at=event.created_at,
        incident_key=event.incident_key,
        certificate_id=event.certificate_id or "",
        certificate_name=str(ctx.get("certificate_name", "")),
        common_name=str(ctx.get("common_name", "")),
        sans=tuple(ctx.get("sans", ())),
        environment=str(ctx.get("environment", "")),
        owner_name=str(ctx.get("owner_name", "")),
        team_name=str(ctx.get("team_name", "")),
        issuer_name=str(ctx.get("issuer_name", "")),
        expires_at=datetime.fromisoformat(expires) if expires else None,
        days_left=event.days_until_expiry,
        threshold_days=event.threshold_days,
        link=ctx.get("link"),
        recipients=tuple(r for r in event.recipient.split(",") if r),
        alert_id=event.alert_id or "",
        threshold=str(ctx.get("threshold") or ""),
        cause=str(ctx.get("cause") or ""),
        resolve_reason=str(ctx.get("resolve_reason") or ""),
        escalation_level=int(ctx.get("escalation_level") or 0),
    )


def check_channel_type(channel: str) -> str:
    """Refuse a channel type outside the closed set, naming `channel`."""
    if channel not in {c.value for c in AlertChannel}:
        allowed = ", ".join(c.value for c in AlertChannel)
        raise InvalidRequest(f"unknown channel {channel!r}; allowed: {allowed}", field="channel")
    return channel


def validate_channel_config(channel: str, config: Mapping[str, Any]) -> None:
    """Check a channel's config against its notifier's schema, naming each bad field."""
    validate_config(channel, config)
