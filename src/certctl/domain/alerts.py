"""Expiry alert decisions and the typed message every notifier renders (C2, C3, C4)."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from certctl.domain.messages import expiry_subject
from certctl.domain.policies import (
    AlertChannel,
    RenewalPolicy,
    effective_alert_channels,
    effective_alert_severity,
    effective_thresholds,
)
from certctl.domain.thresholds import Threshold, crossed, days_left

__all__ = [
    "AlertMessage",
    "ChannelDecision",
    "NotificationKind",
    "ThresholdDecision",
    "crossed_thresholds",
    "days_left",
    "dedup_key",
    "expiry_subject",
    "incident_key",
    "overdue",
    "overdue_decisions",
]

_CHANNELS = frozenset(c.value for c in AlertChannel)
DEFAULT_WINDOW_DAYS = 30
"""The renewal window of a certificate without a policy."""


class NotificationKind(enum.StrEnum):
    """What a notification is about."""

    EXPIRATION = "expiration"
    TEST = "test"
    REVOCATION = "revocation"
    RENEWAL_FAILED = "renewal_failed"
    DRIFT = "drift"
    DEPLOYMENT_FAILED = "deployment_failed"
    OVERDUE = "overdue"
    RESOLVED = "resolved"
    DIGEST = "digest"


def dedup_key(certificate_id: str, version_ref: str, threshold: Threshold, channel: str) -> str:
    """One alert per (certificate, version, threshold, channel), stable across replicas."""
    raw = f"{certificate_id}|{version_ref}|{threshold}|{channel}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def incident_key(certificate_id: str, version_ref: str, threshold: Threshold) -> str:
    """Key shared by every channel's alert for one threshold (PagerDuty dedup_key, OpsGenie alias)."""
    return f"certctl-{certificate_id}-{version_ref}-T{threshold}"


@dataclass(frozen=True)
class ChannelDecision:
    """One channel to notify for one crossed threshold, or why it is dropped."""

    threshold: Threshold
    tier: str
    channel: str
    valid: bool


@dataclass(frozen=True)
class ThresholdDecision:
    """One crossed threshold: its tier and the channels it resolves to (maybe none)."""

    threshold: Threshold
    tier: str
    channels: tuple[ChannelDecision, ...]


def tier_channels(
    policy: RenewalPolicy | None, threshold: Threshold, tier: str
) -> tuple[ChannelDecision, ...]:
    """The channels of `tier` in the policy's matrix, each marked valid or off-enum."""
    matrix = effective_alert_channels(policy)
    return tuple(
        ChannelDecision(threshold, tier, channel, channel in _CHANNELS)
        for channel in matrix.get(tier, ())
    )


def crossed_thresholds(
    policy: RenewalPolicy | None,
    *,
    expires_at: datetime,
    not_before: datetime | None,
    now: datetime,
) -> list[ThresholdDecision]:
    """Every threshold of the effective policy the certificate is inside now, with tier and
    channels (a percentage counts against the validity period)."""
    decisions = []
    for threshold in effective_thresholds(policy):
        if not crossed(threshold, expires_at=expires_at, not_before=not_before, now=now):
            continue
        tier = effective_alert_severity(policy, threshold)
        decisions.append(ThresholdDecision(threshold, tier, tier_channels(policy, threshold, tier)))
    return decisions


def overdue(
    *,
    renews_itself: bool,
    policy: RenewalPolicy | None,
    expires_at: datetime,
    now: datetime,
    grace: timedelta,
) -> bool:
    """Past the start of the renewal window (plus grace) with no successor, for a
    certificate certctl renews itself (it has an issuer and its policy auto-renews)."""
    if not renews_itself or (policy is not None and not policy.auto_renew):
        return False
    window = policy.renewal_window_days if policy else DEFAULT_WINDOW_DAYS
    return now >= expires_at - timedelta(days=window) + grace


def overdue_decisions(
    policy: RenewalPolicy | None, crossed: list[ThresholdDecision], tier: str
) -> list[ThresholdDecision]:
    """The overdue alert of each crossed threshold: the overdue kind's tier and its channels."""
    return [
        ThresholdDecision(d.threshold, tier, tier_channels(policy, d.threshold, tier))
        for d in crossed
    ]


@dataclass(frozen=True)
class AlertMessage:
    """Everything a notifier needs to render one notification; built by the services."""

    notification_id: str
    kind: NotificationKind
    channel: str
    subject: str
    body: str
    severity_tier: str
    occurred_at: datetime
    incident_key: str
    certificate_id: str = ""
    certificate_name: str = ""
    common_name: str = ""
    sans: tuple[str, ...] = ()
    environment: str = ""
    owner_name: str = ""
    team_name: str = ""
    issuer_name: str = ""
    expires_at: datetime | None = None
    days_left: int | None = None
    threshold_days: int | None = None
    link: str | None = None
    recipients: tuple[str, ...] = ()
    alert_id: str = ""
    threshold: str = ""
    cause: str = ""
    resolve_reason: str = ""
    escalation_level: int = 0
    """How many times the alert had escalated when this delivery was decided (0: never)."""
