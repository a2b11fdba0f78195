"""PagerDuty Events API v2 notifier: a `trigger` per alert, a `resolve` when it ends (C2, C3, C4).

The routing key is a credential, so `render` leaves it out (rendered payloads may be shown or
stored) and `deliver` adds it to the body, where the Events API expects it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from certctl.connectors.notifiers.base import Receipt, Rendered
from certctl.connectors.notifiers.facts import clip, details, iso_utc
from certctl.connectors.notifiers.http import JSON_HEADERS, HttpPoster, HttpUrl
from certctl.connectors.notifiers.transport import HttpTransport
from certctl.domain.alerts import AlertMessage, NotificationKind
from certctl.domain.policies import AlertChannel, SeverityTier

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
# Events API v2: severity is one of critical, error, warning, info; summary is at most
# 1024 characters; a valid event is answered 202 with {"status","message","dedup_key"}.
PagerDutySeverity = Literal["critical", "error", "warning", "info"]
DEFAULT_SEVERITIES: Mapping[SeverityTier, PagerDutySeverity] = {
    SeverityTier.INFORMATIONAL: "info",
    SeverityTier.WARNING: "warning",
    SeverityTier.CRITICAL: "critical",
}
SUMMARY_LIMIT = 1024
EVENT_CLASSES = {
    NotificationKind.EXPIRATION: "certificate_expiry",
    NotificationKind.TEST: "certctl_test",
    NotificationKind.REVOCATION: "certificate_revocation",
    NotificationKind.RENEWAL_FAILED: "certificate_renewal_failure",
    NotificationKind.DRIFT: "certificate_drift",
    NotificationKind.DEPLOYMENT_FAILED: "certificate_deployment_failure",
    NotificationKind.OVERDUE: "certificate_renewal_overdue",
}


class PagerDutyConfig(BaseModel):
    """A PagerDuty service integration (Events API v2 routing key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    send_resolved: bool = Field(
        default=True, description="Send a notice when an alert resolves (default on)"
    )

    routing_key: SecretStr = Field(min_length=1, description="Integration routing key")
    events_url: HttpUrl = Field(default=EVENTS_URL, description="Events API v2 enqueue URL")
    severity_map: dict[SeverityTier, PagerDutySeverity] = Field(
        default_factory=dict, description="Overrides of tier → severity"
    )

    def severity(self, tier: str) -> PagerDutySeverity:
        """The event severity for a tier; an unknown tier is treated as informational."""
        try:
            key = SeverityTier(tier)
        except ValueError:
            key = SeverityTier.INFORMATIONAL
        return self.severity_map.get(key, DEFAULT_SEVERITIES[key])


def _payload(message: AlertMessage, severity: PagerDutySeverity) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "summary": clip(message.subject, SUMMARY_LIMIT),
        "severity": severity,
        "source": "certctl",
        "timestamp": iso_utc(message.occurred_at),
        "class": EVENT_CLASSES.get(message.kind, "certificate_expiry"),
        "custom_details": details(message),
    }
    if message.common_name:
        payload["component"] = message.common_name
    if message.team_name:
        payload["group"] = message.team_name
    return payload


class PagerDutyNotifier:
    """Triggers PagerDuty incidents whose dedup_key is the alert's incident key."""

    channel: str = AlertChannel.PAGERDUTY.value
    Config: ClassVar[type[PagerDutyConfig]] = PagerDutyConfig

    def __init__(
        self,
        config: PagerDutyConfig,
        *,
        http: HttpTransport,
        allow_private: bool,
        timeout: float,
    ) -> None:
        self.config = config
        self._key = config.routing_key.get_secret_value()
        self._poster = HttpPoster(self.channel, http, allow_private, timeout, (self._key,))

    def render(self, message: AlertMessage) -> Rendered:
        """The event without its routing key; the same incident key dedups across retries.

        A resolved alert sends `resolve` with the trigger's dedup_key, which closes the
        incident (Events API v2: resolve needs only routing_key, action and dedup_key).
        """
        if message.kind is NotificationKind.RESOLVED:
            body = {"event_action": "resolve", "dedup_key": message.incident_key}
            return Rendered(body=body, headers=dict(JSON_HEADERS))
        event: dict[str, Any] = {
            "event_action": "trigger",
            "dedup_key": message.incident_key,
            "client": "certctl",
            "payload": _payload(message, self.config.severity(message.severity_tier)),
        }
        if message.link:
            event["client_url"] = message.link
            event["links"] = [{"href": message.link, "text": "Certificate in certctl"}]
        return Rendered(body=event, headers=dict(JSON_HEADERS))

    async def deliver(self, rendered: Rendered) -> Receipt:
        """Enqueue the event; the receipt is the dedup_key PagerDuty answers with."""
        event = {**rendered.body, "routing_key": self._key}
        answer = await self._poster.post(
            self.config.events_url, event, rendered.headers, expected={202}, field="events_url"
        )
        answered = answer.json()
        if isinstance(answered, dict) and isinstance(answered.get("dedup_key"), str):
            return Receipt(answered["dedup_key"])
        return Receipt(str(rendered.body["dedup_key"]))
