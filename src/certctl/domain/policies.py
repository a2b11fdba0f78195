"""Renewal policies, certificate profiles and the alert routing matrix (C1, C2)."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from certctl.domain.thresholds import Threshold, order, threshold_errors
from certctl.errors import FieldError, InvalidRequest


class SeverityTier(enum.StrEnum):
    """Closed set of alert severity tiers."""

    INFORMATIONAL = "informational"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertChannel(enum.StrEnum):
    """Closed, case-sensitive set of notification channels."""

    EMAIL = "Email"
    WEBHOOK = "Webhook"
    SLACK = "Slack"
    TEAMS = "Teams"
    PAGERDUTY = "PagerDuty"
    OPSGENIE = "OpsGenie"


DEFAULT_THRESHOLDS: tuple[int, ...] = (30, 14, 7, 0)
DEFAULT_SEVERITY_MAP: Mapping[int, SeverityTier] = {
    30: SeverityTier.INFORMATIONAL,
    14: SeverityTier.WARNING,
    7: SeverityTier.WARNING,
    0: SeverityTier.CRITICAL,
}
DEFAULT_CHANNEL_MATRIX: Mapping[str, tuple[str, ...]] = {
    tier.value: (AlertChannel.EMAIL.value,) for tier in SeverityTier
}

_TIERS = frozenset(t.value for t in SeverityTier)
_CHANNELS = frozenset(c.value for c in AlertChannel)


@dataclass(frozen=True)
class RenewalPolicy:
    """When to renew and whom to alert, per threshold and tier."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    renewal_window_days: int = 30
    auto_renew: bool = True
    max_retries: int = 3
    retry_interval_seconds: int = 3600
    alert_thresholds_days: tuple[Threshold, ...] = DEFAULT_THRESHOLDS
    alert_channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    alert_severity_map: Mapping[Threshold, str] = field(default_factory=dict)
    certificate_profile_id: str | None = None
    agent_group_id: str | None = None
    escalation_after_minutes: int | None = None
    escalation_channels: tuple[str, ...] = ()


MAX_ESCALATION_MINUTES = 10080
"""One week: a critical alert nobody acknowledged for longer has escalated long before."""


def effective_alert_channels(policy: RenewalPolicy | None) -> Mapping[str, tuple[str, ...]]:
    """The matrix to route with: the default when missing or empty, else the policy's as is."""
    if policy is None or not policy.alert_channels:
        return DEFAULT_CHANNEL_MATRIX
    return policy.alert_channels


def effective_alert_severity(policy: RenewalPolicy | None, threshold: Threshold) -> str:
    """Tier for a threshold: the policy map, then the default map, then informational."""
    if policy is not None and threshold in policy.alert_severity_map:
        return policy.alert_severity_map[threshold]
    if isinstance(threshold, str):
        return SeverityTier.INFORMATIONAL.value
    return DEFAULT_SEVERITY_MAP.get(threshold, SeverityTier.INFORMATIONAL).value


def effective_thresholds(policy: RenewalPolicy | None) -> tuple[Threshold, ...]:
    """Thresholds to alert at, largest first (days, then percentages of the validity)."""
    if policy is None or not policy.alert_thresholds_days:
        return DEFAULT_THRESHOLDS
    return order(policy.alert_thresholds_days)


def _range_error(name: str, value: int, low: int, high: int) -> FieldError | None:
    if low <= value <= high:
        return None
    return FieldError(name, f"must be between {low} and {high}, got {value}")


def check_policy(policy: RenewalPolicy) -> None:
    """Refuse a policy write with out-of-range numbers or off-enum tiers and channels."""
    checks = [
        _range_error("renewal_window_days", policy.renewal_window_days, 1, 365),
        _range_error("max_retries", policy.max_retries, 0, 10),
        _range_error("retry_interval_seconds", policy.retry_interval_seconds, 60, 86400),
    ]
    errors = [e for e in checks if e is not None]
    errors += threshold_errors(policy.alert_thresholds_days, "alert_thresholds_days")
    errors += _matrix_errors(policy.alert_channels)
    errors += _severity_map_errors(policy.alert_severity_map)
    errors += _escalation_errors(policy)
    if errors:
        raise InvalidRequest.many(tuple(errors))


def _matrix_errors(matrix: Mapping[str, tuple[str, ...]]) -> list[FieldError]:
    errors: list[FieldError] = []
    for tier, channels in matrix.items():
        if tier not in _TIERS:
            errors.append(
                FieldError(
                    f"alert_channels.{tier}",
                    f"unknown severity tier {tier!r}; allowed: {', '.join(sorted(_TIERS))}",
                )
            )
        if len(set(channels)) != len(channels):
            errors.append(FieldError(f"alert_channels.{tier}", "a channel is listed twice"))
        for i, channel in enumerate(channels):
            if channel not in _CHANNELS:
                errors.append(
                    FieldError(
                        f"alert_channels.{tier}[{i}]",
                        f"unknown channel {channel!r}; allowed: {', '.join(sorted(_CHANNELS))}",
                    )
                )
    return errors


def _escalation_errors(policy: RenewalPolicy) -> list[FieldError]:
    """Minutes in range and known channels; both set or neither (absent = no escalation)."""
    minutes, channels = policy.escalation_after_minutes, policy.escalation_channels
    errors: list[FieldError] = []
    if minutes is not None:
        error = _range_error("escalation_after_minutes", minutes, 1, MAX_ESCALATION_MINUTES)
        errors += [error] if error else []
        if not channels:
            errors.append(
                FieldError("escalation_channels", "required when escalation_after_minutes is set")
            )
    elif channels:
        errors.append(
            FieldError("escalation_after_minutes", "required when escalation_channels is set")
        )
    if len(set(channels)) != len(channels):
        errors.append(FieldError("escalation_channels", "a channel is listed twice"))
    errors += [
        FieldError(
            f"escalation_channels[{i}]",
            f"unknown channel {channel!r}; allowed: {', '.join(sorted(_CHANNELS))}",
        )
        for i, channel in enumerate(channels)
        if channel not in _CHANNELS
    ]
    return errors


def _severity_map_errors(severity_map: Mapping[Threshold, str]) -> list[FieldError]:
    errors = [
        FieldError(f"alert_severity_map.{threshold}", f"threshold {problem.message}")
        for threshold in severity_map
        for problem in threshold_errors([threshold], "")
    ]
    errors += [
        FieldError(
            f"alert_severity_map.{threshold}",
            f"unknown severity tier {tier!r}; allowed: {', '.join(sorted(_TIERS))}",
        )
        for threshold, tier in severity_map.items()
        if tier not in _TIERS
    ]
    return errors


class KeyAlgorithm(enum.StrEnum):
    """Key algorithms a profile may allow."""

    ECDSA = "ECDSA"
    RSA = "RSA"
    ED25519 = "Ed25519"


@dataclass(frozen=True)
class KeyAlgorithmRule:
    """An allowed key algorithm with its minimum size in bits."""

    algorithm: str
    min_size: int = 0


DEFAULT_KEY_RULES: tuple[KeyAlgorithmRule, ...] = (
    KeyAlgorithmRule("ECDSA", 256),
    KeyAlgorithmRule("RSA", 2048),
)
DEFAULT_EKUS: tuple[str, ...] = ("serverAuth",)
MAX_TTL_SECONDS = 100 * 366 * 86400
KNOWN_EKUS = frozenset(
    {"serverAuth", "clientAuth", "codeSigning", "emailProtection", "timeStamping", "OCSPSigning"}
)
CABF_SERVERAUTH = "cabf-serverauth"
"""Preset of public-CA hygiene (CA/Browser Forum Baseline Requirements) for TLS servers."""
PRESETS = frozenset({"", CABF_SERVERAUTH})
CABF_MAX_TTL_SECONDS = 398 * 86400
"""BR 6.3.2: subscriber certificates are valid at most 398 days."""


@dataclass(frozen=True)
class CertificateProfile:
    """What a certificate issued under this profile may look like."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    allowed_key_algorithms: tuple[KeyAlgorithmRule, ...] = DEFAULT_KEY_RULES
    max_ttl_seconds: int = 0
    allowed_ekus: tuple[str, ...] = DEFAULT_EKUS
    required_san_patterns: tuple[str, ...] = ()
    must_staple: bool = False
    allow_short_lived: bool = False
    requires_approval: bool = False
    preset: str = ""


def check_profile(profile: CertificateProfile) -> None:
    """Refuse a profile write with unknown algorithms, EKUs or broken SAN patterns."""
    errors: list[FieldError] = []
    known_algorithms = {a.value for a in KeyAlgorithm}
    for i, rule in enumerate(profile.allowed_key_algorithms):
        if rule.algorithm not in known_algorithms:
            allowed = ", ".join(sorted(known_algorithms))
            errors.append(
                FieldError(
                    f"allowed_key_algorithms[{i}].algorithm",
                    f"unknown algorithm {rule.algorithm!r}; allowed: {allowed}",
                )
            )
    for i, eku in enumerate(profile.allowed_ekus):
        if eku not in KNOWN_EKUS:
            errors.append(FieldError(f"allowed_ekus[{i}]", f"unknown extended key usage {eku!r}"))
    for i, pattern in enumerate(profile.required_san_patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            errors.append(FieldError(f"required_san_patterns[{i}]", f"invalid regex: {exc}"))
    if not 0 <= profile.max_ttl_seconds <= MAX_TTL_SECONDS:
        errors.append(
            FieldError(
                "max_ttl_seconds", f"must be 0 (no limit) up to {MAX_TTL_SECONDS} (100 years)"
            )
        )
    errors += _preset_errors(profile)
    if errors:
        raise InvalidRequest.many(tuple(errors))


def _preset_errors(profile: CertificateProfile) -> list[FieldError]:
    """A preset's promises hold for the rest of the profile (BR 6.1.5, 6.3.2, 7.1.2.7.10)."""
    if profile.preset not in PRESETS:
        allowed = ", ".join(sorted(p for p in PRESETS if p))
        return [FieldError("preset", f"unknown preset {profile.preset!r}; allowed: {allowed}")]
    if profile.preset != CABF_SERVERAUTH:
        return []
    errors: list[FieldError] = []
    if not 0 < profile.max_ttl_seconds <= CABF_MAX_TTL_SECONDS:
        errors.append(
            FieldError(
                "max_ttl_seconds",
                f"must be 1 to {CABF_MAX_TTL_SECONDS} seconds (398 days) under {CABF_SERVERAUTH}",
            )
        )
    ekus = set(profile.allowed_ekus)
    if "serverAuth" not in ekus or not ekus <= {"serverAuth", "clientAuth"}:
        errors.append(
            FieldError(
                "allowed_ekus",
                f"must be serverAuth (and optionally clientAuth) under {CABF_SERVERAUTH}",
            )
        )
    errors += [
        FieldError(
            f"allowed_key_algorithms[{i}].algorithm",
            f"Ed25519 keys are not allowed under {CABF_SERVERAUTH}",
        )
        for i, rule in enumerate(profile.allowed_key_algorithms)
        if rule.algorithm == KeyAlgorithm.ED25519
    ]
    return errors


def weakened_controls(before: CertificateProfile, after: CertificateProfile) -> tuple[str, ...]:
    """Fields whose change lets `after` issue something `before` refused or skip a check.

    Approval switched off, OCSP Must-Staple dropped, short-lived certificates allowed, a longer
    (or no) maximum TTL, a new key algorithm or a smaller minimum key size, a new EKU, and any
    SAN pattern added or all patterns removed (patterns allow names, any one suffices).
    """
    checks = {
        "requires_approval": before.requires_approval and not after.requires_approval,
        "must_staple": before.must_staple and not after.must_staple,
        "allow_short_lived": after.allow_short_lived and not before.allow_short_lived,
        "max_ttl_seconds": _longer_ttl(before.max_ttl_seconds, after.max_ttl_seconds),
        "allowed_key_algorithms": _weaker_keys(
            before.allowed_key_algorithms or DEFAULT_KEY_RULES,
            after.allowed_key_algorithms or DEFAULT_KEY_RULES,
        ),
        "allowed_ekus": bool(
            set(after.allowed_ekus or DEFAULT_EKUS) - set(before.allowed_ekus or DEFAULT_EKUS)
        ),
        "required_san_patterns": bool(before.required_san_patterns)
        and (
            not after.required_san_patterns
            or bool(set(after.required_san_patterns) - set(before.required_san_patterns))
        ),
    }
    return tuple(name for name, weaker in checks.items() if weaker)


def _longer_ttl(before: int, after: int) -> bool:
    """0 means no limit, the weakest setting."""
    if before == 0:
        return False
    return after == 0 or after > before


def _weaker_keys(before: tuple[KeyAlgorithmRule, ...], after: tuple[KeyAlgorithmRule, ...]) -> bool:
    """A new algorithm, or a smaller minimum size for one already allowed."""
    minimum: dict[str, int] = {}
    for rule in before:
        minimum[rule.algorithm] = min(rule.min_size, minimum.get(rule.algorithm, rule.min_size))
    return any(
        rule.algorithm not in minimum or rule.min_size < minimum[rule.algorithm] for rule in after
    )
