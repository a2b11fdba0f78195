"""Generic webhook notifier: a JSON event, HMAC-SHA256 signed when a secret is set (C4).

Receivers verify `X-Signature: sha256=<hex>` by computing HMAC-SHA256 over the raw request
body with the shared secret; the body is canonical JSON so the signed bytes are reproducible.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from certctl.connectors.notifiers.base import Receipt, Rendered
from certctl.connectors.notifiers.facts import clip, iso_utc
from certctl.connectors.notifiers.http import (
    JSON_HEADERS,
    HttpPoster,
    HttpUrl,
    canonical_json,
    url_secrets,
)
from certctl.connectors.notifiers.transport import HttpTransport
from certctl.domain.alerts import AlertMessage, NotificationKind
from certctl.domain.policies import AlertChannel

EVENT_TYPES = {
    NotificationKind.EXPIRATION: "certificate.expiring",
    NotificationKind.TEST: "certctl.test",
    NotificationKind.REVOCATION: "certificate.revoked",
    NotificationKind.RENEWAL_FAILED: "certificate.renewal_failed",
    NotificationKind.DRIFT: "certificate.drift",
    NotificationKind.DEPLOYMENT_FAILED: "certificate.deployment_failed",
    NotificationKind.OVERDUE: "certificate.renewal_overdue",
    NotificationKind.RESOLVED: "alert.resolved",
}
SIGNATURE_HEADER = "X-Signature"


class WebhookConfig(BaseModel):
    """Any HTTP endpoint that accepts a JSON POST."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    send_resolved: bool = Field(
        default=False, description="Send a notice when an alert resolves (default off)"
    )

    url: HttpUrl = Field(description="Endpoint receiving the JSON event")
    secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 signing secret")


def sign(secret: str, body: bytes) -> str:
    """The `X-Signature` value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event(message: AlertMessage) -> dict[str, Any]:
    """The webhook event document."""
    expires = iso_utc(message.expires_at) if message.expires_at else None
    certificate = {
        "id": message.certificate_id,
        "name": message.certificate_name,
        "common_name": message.common_name,
        "sans": list(message.sans),
        "environment": message.environment,
        "expires_at": expires,
    }
    document: dict[str, Any] = {
        "id": message.notification_id,
        "type": EVENT_TYPES.get(message.kind, "certificate.expiring"),
        "occurred_at": iso_utc(message.occurred_at),
        "severity_tier": message.severity_tier,
        "threshold_days": message.threshold_days,
        "days_left": message.days_left,
        "certificate": certificate,
        "owner": message.owner_name,
        "team": message.team_name,
        "link": message.link,
    }
    # Alert fields appear only on alert messages, so other events keep their exact shape.
    alert = {
        "alert_id": message.alert_id,
        "threshold": message.threshold,
        "cause": message.cause,
        "resolve_reason": message.resolve_reason,
    }
    document.update({key: value for key, value in alert.items() if value})
    if message.alert_id:
        # Always present on alert events, so a receiver can route on them without a default.
        document["escalated"] = message.escalation_level > 0
        document["escalation_level"] = message.escalation_level
    return document


class WebhookNotifier:
    """POSTs signed events to one URL; any 2xx is success."""

    channel: str = AlertChannel.WEBHOOK.value
    Config: ClassVar[type[WebhookConfig]] = WebhookConfig

    def __init__(
        self, config: WebhookConfig, *, http: HttpTransport, allow_private: bool, timeout: float
    ) -> None:
        self.config = config
        self._secret = config.secret.get_secret_value() if config.secret else ""
        # Webhook URLs often embed a token, so they are kept out of error text like the secret.
        secrets = (*url_secrets(config.url), self._secret)
        self._poster = HttpPoster(self.channel, http, allow_private, timeout, secrets)

    def render(self, message: AlertMessage) -> Rendered:
        """The event and its headers; the signature covers `canonical_json(body)`, what is sent."""
        body = event(message)
        headers = dict(JSON_HEADERS)
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, canonical_json(body))
        return Rendered(body=body, headers=headers)

    async def deliver(self, rendered: Rendered) -> Receipt:
        """POST the event; the receipt is the answer's text, or its status when empty."""
        answer = await self._poster.post(self.config.url, rendered.body, rendered.headers)
        return Receipt(clip(answer.text.strip(), 200) or f"HTTP {answer.status}")
