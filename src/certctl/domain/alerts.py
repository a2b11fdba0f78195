"""Expiry alert decisions and the typed message every notifier renders (C2, C4)."""

from __future__ import annotations

import enum
import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from certctl.domain.policies import (
    AlertChannel,
    RenewalPolicy,
    effective_alert_channels,
    effective_alert_severity,
    effective_thresholds,
)

_CHANNELS = frozenset(c.value for c in AlertChannel)


class NotificationKind(enum.StrEnum):
    """What a notification is about."""

    EXPIRATION = "expiration"
    TEST = "test"
    REVOCATION = "revocation"
    RENEWAL_FAILED = "renewal_failed"
    DIGEST = "digest"


def days_left(expires_at: datetime, now: datetime) -> int:
    """Whole days until expiry, rounded down: negative once expired (C2)."""
    return math.floor((expires_at - now) / timedelta(days=1))


def dedup_key(certificate_id: str, version_ref: str, threshold: int, channel: str) -> str:
    """One alert per (certificate, version, threshold, channel), stable across replicas."""
    raw = f"{certificate_id}|{version_ref}|{threshold}|{channel}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def incident_key(certificate_id: str, version_ref: str, threshold: int) -> str:
    """Key shared by every channel's alert for one threshold (PagerDuty dedup_key, OpsGenie alias)."""
    return f"certctl-{certificate_id}-{version_ref}-T{threshold}"


@dataclass(frozen=True)
class ChannelDecision:
    """One channel to notify for one crossed threshold, or why it is dropped."""

    threshold: int
    tier: str
    channel: str
    valid: bool


@dataclass(frozen=True)
class ThresholdDecision:
    """One crossed threshold: its tier and the channels it resolves to (maybe none)."""

    threshold: int
    tier: str
    channels: tuple[ChannelDecision, ...]


def crossed_thresholds(policy: RenewalPolicy | None, left: int) -> list[ThresholdDecision]:
    """Every threshold T of the effective policy with `left <= T`, with tier and channels."""
    matrix = effective_alert_channels(policy)
    decisions = []
    for threshold in effective_thresholds(policy):
        if left > threshold:
            continue
        tier = effective_alert_severity(policy, threshold)
        channels = tuple(
            ChannelDecision(threshold, tier, channel, channel in _CHANNELS)
            for channel in matrix.get(tier, ())
        )
        decisions.append(ThresholdDecision(threshold, tier, channels))
    return decisions


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


# Names stored before input refused control characters (or read from an imported certificate)
# must not break the one-line subject: a mail header cannot hold CR/LF (RFC 5322 §2.2).
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]+")


def expiry_subject(name: str, left: int, expires_at: datetime, now: datetime) -> str:
    """`[EXPIRED]` only once the certificate really expired; otherwise the days left (C2)."""
    name = _LINE_BREAKING.sub(" ", name)
    if expires_at <= now:
        return f"[EXPIRED] Certificate {name} expired on {expires_at:%Y-%m-%d %H:%M} UTC"
    if left <= 0:
        return f"[EXPIRES TODAY] Certificate {name} expires at {expires_at:%Y-%m-%d %H:%M} UTC"
    unit = "day" if left == 1 else "days"
    return f"Certificate {name} expires in {left} {unit} ({expires_at:%Y-%m-%d})"
