"""Alerts as stateful objects: open → acknowledged → resolved, with who, when and why (C3).

An alert is one condition of one certificate version — an expiry threshold crossed, a renewal
that failed, a renewal that is overdue — and its deliveries (outbox rows) hang beneath it.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from certctl.domain.policies import SeverityTier
from certctl.errors import Conflict, FieldError, InvalidRequest

SYSTEM = "system"
"""Who resolves an alert when the certificate itself ends it (renewed, revoked, archived)."""


class AlertKind(enum.StrEnum):
    """What condition an alert reports."""

    EXPIRY = "expiry"
    RENEWAL_FAILED = "renewal_failed"
    OVERDUE = "overdue"
    DEPLOYMENT_FAILED = "deployment_failed"
    DRIFT = "drift"


class AlertState(enum.StrEnum):
    """Where an alert stands."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


DEFAULT_KIND_TIERS: Mapping[str, str] = {
    AlertKind.RENEWAL_FAILED.value: SeverityTier.CRITICAL.value,
    AlertKind.OVERDUE.value: SeverityTier.WARNING.value,
    AlertKind.DEPLOYMENT_FAILED.value: SeverityTier.WARNING.value,
    AlertKind.DRIFT.value: SeverityTier.WARNING.value,
}
"""Tier of the alerts that have no threshold of their own (expiry tiers come from the policy)."""


def kind_tier_errors(kind_tiers: Mapping[str, str]) -> list[FieldError]:
    """Problems of a kind → tier map, each naming `alert_kind_tiers.<kind>`."""
    kinds = {k.value for k in AlertKind} - {AlertKind.EXPIRY.value}
    tiers = {t.value for t in SeverityTier}
    errors = [
        FieldError(f"alert_kind_tiers.{kind}", f"unknown alert kind; allowed: {sorted(kinds)}")
        for kind in kind_tiers
        if kind not in kinds
    ]
    errors += [
        FieldError(f"alert_kind_tiers.{kind}", f"unknown tier {tier!r}; allowed: {sorted(tiers)}")
        for kind, tier in kind_tiers.items()
        if tier not in tiers
    ]
    return errors


@dataclass(frozen=True)
class AlertingRules:
    """Settings every alert decision shares: tiers by kind, who sends resolve notices."""

    kind_tiers: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_KIND_TIERS))
    send_resolved: frozenset[str] = frozenset({"PagerDuty", "OpsGenie"})
    """Environment-set channels sending "resolved" (a database channel says it in its config)."""
    overdue_grace: timedelta = timedelta(hours=24)
    public_url: str | None = None
    extra_recipients: tuple[str, ...] = ()

    def tier_of(self, kind: AlertKind) -> str:
        """The tier of an alert kind without thresholds (warning when unmapped)."""
        return self.kind_tiers.get(kind.value, SeverityTier.WARNING.value)

    def link(self, certificate_id: str) -> str | None:
        """The certificate's page in the dashboard, when the public URL is known."""
        return f"{self.public_url}/certificates/{certificate_id}" if self.public_url else None


def alert_dedup_key(kind: AlertKind, certificate_id: str, version_id: str, threshold: str) -> str:
    """One alert per (kind, certificate version, threshold), stable across replicas."""
    raw = f"{kind.value}|{certificate_id}|{version_id}|{threshold}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Alert:
    """One alert and its state; its deliveries are the outbox rows with its id."""

    id: str
    kind: AlertKind
    certificate_id: str
    version_id: str
    threshold: str | None
    tier: str
    state: AlertState
    subject: str
    incident_key: str
    dedup_key: str
    opened_at: datetime
    updated_at: datetime
    cause: str | None = None
    job_id: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolve_reason: str | None = None
    escalated_at: datetime | None = None
    escalation_level: int = 0

    @property
    def is_open(self) -> bool:
        """Open or acknowledged: not resolved yet."""
        return self.state is not AlertState.RESOLVED


def acknowledged(alert: Alert, *, by: str, now: datetime) -> Alert:
    """The alert acknowledged by `by`; a resolved or already acknowledged one is a conflict."""
    if alert.state is not AlertState.OPEN:
        raise Conflict(
            f"alert {alert.id} is {alert.state.value}; only an open alert is acknowledged"
        )
    return replace(
        alert,
        state=AlertState.ACKNOWLEDGED,
        acknowledged_by=by,
        acknowledged_at=now,
        updated_at=now,
    )


def escalation_due(alert: Alert, *, after_minutes: int | None, now: datetime) -> bool:
    """A critical alert still open (not acknowledged) `after_minutes` after it opened, and
    not escalated yet: escalation happens once per alert."""
    return (
        after_minutes is not None
        and alert.state is AlertState.OPEN
        and alert.tier == SeverityTier.CRITICAL.value
        and alert.escalation_level == 0
        and now >= alert.opened_at + timedelta(minutes=after_minutes)
    )


def escalated(alert: Alert, *, now: datetime) -> Alert:
    """The alert escalated one level at `now`."""
    return replace(
        alert, escalated_at=now, escalation_level=alert.escalation_level + 1, updated_at=now
    )


def resolved(alert: Alert, *, by: str, reason: str, now: datetime) -> Alert:
    """The alert resolved by `by` for `reason` (required); a resolved one is a conflict."""
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("a reason is required to resolve an alert", field="reason")
    if alert.state is AlertState.RESOLVED:
        raise Conflict(f"alert {alert.id} is already resolved")
    return replace(
        alert,
        state=AlertState.RESOLVED,
        resolved_by=by,
        resolved_at=now,
        resolve_reason=reason,
        updated_at=now,
    )


class FailureCause(enum.StrEnum):
    """Why an issuing job failed, as far as its error says (C3)."""

    CHALLENGE_ERROR = "challenge_error"
    CA_AUTHENTICATION = "ca_authentication"
    PROFILE_VIOLATION = "profile_violation"
    APPROVAL_TIMED_OUT = "approval_timed_out"
    AGENT_OFFLINE = "agent_offline"
    OTHER = "other"


CAUSE_LABELS: Mapping[FailureCause, str] = {
    FailureCause.CHALLENGE_ERROR: "Challenge error",
    FailureCause.CA_AUTHENTICATION: "CA authentication failure",
    FailureCause.PROFILE_VIOLATION: "Profile violation",
    FailureCause.APPROVAL_TIMED_OUT: "Approval timed out",
    FailureCause.AGENT_OFFLINE: "Agent offline",
    FailureCause.OTHER: "Issuance error",
}

# RFC 8555 §6.7: the problem types a failed challenge or authorization reports.
_CHALLENGE_PROBLEMS = frozenset(
    f"urn:ietf:params:acme:error:{name}"
    for name in ("unauthorized", "incorrectResponse", "connection", "dns", "tls", "caa")
)
_AUTH_MARKERS = (" 401", " 403", "unauthenticated", "authentication", "credential", "forbidden")
_PROFILE_MARKERS = ("profile", "policy violation", "not allowed by")


def failure_cause(error: str | None, problem_type: str | None) -> FailureCause:
    """Classify a failed job from its error text and the CA's problem document type."""
    text = (error or "").lower()
    if problem_type in _CHALLENGE_PROBLEMS or "challenge" in text:
        return FailureCause.CHALLENGE_ERROR
    if "waiting for an approval" in text:
        return FailureCause.APPROVAL_TIMED_OUT
    if "waiting for a csr" in text or ("agent" in text and "offline" in text):
        return FailureCause.AGENT_OFFLINE
    if any(marker in text for marker in _AUTH_MARKERS):
        return FailureCause.CA_AUTHENTICATION
    if any(marker in text for marker in _PROFILE_MARKERS):
        return FailureCause.PROFILE_VIOLATION
    return FailureCause.OTHER


def cause_text(cause: FailureCause, error: str | None) -> str:
    """The cause as shown in every channel: `Challenge error: <the CA's words>`."""
    return f"{CAUSE_LABELS[cause]}: {error or 'no detail recorded'}"
