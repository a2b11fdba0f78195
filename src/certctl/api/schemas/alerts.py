"""Schemas of alerts (open → acknowledged → resolved) and their deliveries."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from certctl.api.schemas.common import In, Out
from certctl.api.schemas.notifications import NotificationOut
from certctl.domain.alert_lifecycle import AlertKind, AlertState


class AlertOut(Out):
    """One alert: a condition of one certificate version, and who acted on it when."""

    id: str
    kind: AlertKind
    certificate_id: str
    version_id: str
    threshold: str | None = Field(description='Days ("7") or share of validity ("33%").')
    tier: str
    state: AlertState
    subject: str
    incident_key: str = Field(description="PagerDuty dedup_key and OpsGenie alias.")
    cause: str | None
    job_id: str | None
    opened_at: datetime
    updated_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolve_reason: str | None
    escalated_at: datetime | None = Field(
        description="When the alert escalated (critical, unacknowledged past the policy's delay)."
    )
    escalation_level: int = Field(description="0 = not escalated; escalation happens once.")


class AlertDetailOut(AlertOut):
    """An alert with its deliveries: triggers, cancelled rows and resolve notices."""

    deliveries: list[NotificationOut]


class AlertResolveIn(In):
    """Why the alert is resolved by hand."""

    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


class ForecastItemOut(Out):
    """One delivery the expiry scan would decide: what, to whom, through which channel."""

    at: datetime = Field(description="The scan instant the delivery is decided at.")
    kind: AlertKind
    certificate_id: str
    certificate_name: str
    threshold: str = Field(description='Days ("7") or share of validity ("33%").')
    tier: str
    channel: str
    destination: str = Field(description="Where it goes, secrets masked.")
    override_id: str | None = Field(description="The team's or owner's routing override.")
    status: str = Field(
        description='"sends", "silenced", "held", or "skipped" (channel not configured).'
    )
    silence_id: str | None
    held_until: datetime | None


class ForecastDayOut(Out):
    """One day of the forecast: counts per tier and its deliveries."""

    date: str
    counts: dict[str, int] = Field(description="Deliveries per tier.")
    items: list[ForecastItemOut]


class ForecastOut(Out):
    """What the expiry scan would send on each of the next `days` days."""

    start: datetime
    days: int
    assumes_no_renewal: bool = Field(description="Certificates are assumed not renewed.")
    total: int
    forecast: list[ForecastDayOut]
