"""Schemas of outbox notifications, notification channels and scheduler loops."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from certctl.api.schemas.common import In, Line, Name, Out, ResourceId
from certctl.domain.alerts import NotificationKind
from certctl.domain.notifications import NotificationStatus
from certctl.domain.policies import AlertChannel


class NotificationOut(Out):
    """One outbox row with its delivery state (`Retry n/5` = attempts/5)."""

    id: str
    kind: NotificationKind
    channel: str
    status: NotificationStatus
    certificate_id: str | None
    threshold_days: int | None
    days_until_expiry: int | None
    severity_tier: str
    recipient: str
    subject: str
    message: str
    incident_key: str
    attempts: int
    max_attempts: int = 5
    next_retry_at: datetime | None
    last_error: str | None
    receipt: str | None
    sent_at: datetime | None
    read_at: datetime | None
    silence_id: str | None = Field(
        default=None, description="The silence that muted this row (status `silenced`)."
    )
    digest_id: str | None = Field(
        default=None, description="The digest row this row was folded into (status `digested`)."
    )
    created_at: datetime
    updated_at: datetime
    alert_id: str | None = None


class ChannelIn(In):
    """A notification channel stored in the database (overrides the environment's)."""

    id: ResourceId | None = None
    name: Name
    channel: AlertChannel
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class ChannelPatch(In):
    """Fields of a notification channel to change (the type is fixed)."""

    name: Name | None = None
    config: dict[str, Any] | None = None
    enabled: bool | None = None


class ChannelOut(Out):
    """A notification channel with its secrets masked."""

    id: str
    name: str
    channel: str
    config: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class ChannelTest(In):
    """Where to send a test notification (Email needs a recipient)."""

    recipient: Line | None = Field(default=None, max_length=254)


class LoopOut(Out):
    """A scheduler loop and its last run in this process."""

    name: str
    interval_seconds: float
    runs: int
    running: bool
    last_started_at: datetime | None
    last_duration_seconds: float | None
    last_outcome: str | None
    last_error: str | None = Field(description="The error of the last tick that failed.")
    last_success_at: datetime | None
    failures: int
    last_failure_at: datetime | None
    last_summary: dict[str, Any]
