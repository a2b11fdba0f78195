"""What every channel says about a certificate: labelled facts, details and UTC timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from certctl.domain.alerts import AlertMessage


@dataclass(frozen=True)
class Fact:
    """One labelled value shown to humans (Slack field, Teams fact, email table row)."""

    label: str
    value: str


def utc(moment: datetime) -> datetime:
    """The instant in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """RFC 3339 timestamp with a `Z` suffix, for machine payloads."""
    return utc(moment).isoformat().replace("+00:00", "Z")


def human_utc(moment: datetime) -> str:
    """Minute-precision timestamp for people, e.g. `2026-06-07 18:30 UTC`."""
    return f"{utc(moment):%Y-%m-%d %H:%M} UTC"


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters (ending in an ellipsis) to respect vendor field limits."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def facts(message: AlertMessage) -> tuple[Fact, ...]:
    """The facts chat channels show, skipping the ones a message does not have (test sends)."""
    rows = (
        Fact("Certificate", message.certificate_name),
        Fact("Common name", message.common_name),
        Fact("Expires", human_utc(message.expires_at) if message.expires_at else ""),
        Fact("Days left", "" if message.days_left is None else str(message.days_left)),
        Fact("Owner", message.owner_name),
        Fact("Team", message.team_name),
        Fact("Environment", message.environment),
        Fact("Tier", message.severity_tier),
        Fact("Cause", message.cause),
        Fact("Resolved", message.resolve_reason),
    )
    return tuple(row for row in rows if row.value)


def details(message: AlertMessage) -> dict[str, str]:
    """Machine-readable key/value details (PagerDuty custom_details, OpsGenie details)."""
    values = {
        "notification_id": message.notification_id,
        "certificate_id": message.certificate_id,
        "certificate": message.certificate_name,
        "common_name": message.common_name,
        "sans": ", ".join(message.sans),
        "environment": message.environment,
        "owner": message.owner_name,
        "team": message.team_name,
        "issuer": message.issuer_name,
        "expires_at": iso_utc(message.expires_at) if message.expires_at else "",
        "days_left": "" if message.days_left is None else str(message.days_left),
        "threshold_days": "" if message.threshold_days is None else str(message.threshold_days),
        "severity_tier": message.severity_tier,
        "link": message.link or "",
        "alert_id": message.alert_id,
        "threshold": message.threshold,
        "cause": message.cause,
        "resolve_reason": message.resolve_reason,
    }
    return {key: value for key, value in values.items() if value}
