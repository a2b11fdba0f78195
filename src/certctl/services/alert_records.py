"""Alerts for people: list, show with deliveries, acknowledge, resolve (C3), all audited."""

from __future__ import annotations

from dataclasses import dataclass

from certctl.db.repositories.alerts import AlertFilter
from certctl.domain.access import Caller, Permission
from certctl.domain.alert_lifecycle import Alert, acknowledged
from certctl.domain.listing import MAX_PER_PAGE, Page, PageRequest, SortKey
from certctl.domain.notifications import NotificationEvent
from certctl.domain.policies import SeverityTier
from certctl.metrics import Metrics
from certctl.services.alert_resolution import resolve_alerts
from certctl.services.audit import record
from certctl.services.runtime import Runtime

__all__ = ["AlertDetail", "AlertFilter", "AlertRecords", "refresh_open_gauge"]


@dataclass(frozen=True)
class AlertDetail:
    """One alert with its deliveries, oldest first."""

    alert: Alert
    deliveries: tuple[NotificationEvent, ...]


async def refresh_open_gauge(runtime: Runtime, metrics: Metrics) -> dict[str, int]:
    """Set certctl_alerts_open{tier} from the database (every tier, zero included)."""
    async with runtime.db.uow() as uow:
        counts = await uow.alerts.open_by_tier()
    for tier in SeverityTier:
        metrics.alerts_open.labels(tier=tier.value).set(counts.get(tier.value, 0))
    return counts


class AlertRecords:
    """What people do with alerts through the API, dashboard, CLI and MCP."""

    def __init__(self, runtime: Runtime, metrics: Metrics) -> None:
        self.runtime = runtime
        self.metrics = metrics

    async def search(
        self, caller: Caller, *, request: PageRequest, sort: SortKey, filters: AlertFilter
    ) -> Page[Alert]:
        """One filtered, sorted page of alerts."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await uow.alerts.search(request=request, sort=sort, filters=filters)

    async def get(self, caller: Caller, alert_id: str) -> AlertDetail:
        """One alert and its deliveries (triggers, cancelled rows, resolve notices)."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            alert = await uow.alerts.require(alert_id)
            page = await uow.notifications.page(
                request=PageRequest(per_page=MAX_PER_PAGE),
                sort=SortKey("created_at"),
                equals={"alert_id": alert_id},
            )
        return AlertDetail(alert, tuple(page.items))

    async def acknowledge(self, caller: Caller, alert_id: str) -> Alert:
        """Mark an open alert acknowledged by the caller (audited)."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            before = await uow.alerts.require(alert_id)
            after = acknowledged(before, by=caller.principal.name, now=self.runtime.clock.now())
            await uow.alerts.update(after)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="alert_acknowledged",
                resource_type="alert",
                resource_id=alert_id,
                details={"certificate_id": after.certificate_id, "kind": after.kind.value},
            )
        await refresh_open_gauge(self.runtime, self.metrics)
        return after

    async def resolve(self, caller: Caller, alert_id: str, *, reason: str) -> Alert:
        """Resolve an alert by hand with a reason: its undelivered rows are cancelled and
        the resolve notices queued, as for an automatic resolution (audited)."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            before = await uow.alerts.require(alert_id)
            [after] = await resolve_alerts(
                uow, self.runtime, [before], reason=reason, caller=caller
            )
        await refresh_open_gauge(self.runtime, self.metrics)
        return after
