"""Microsoft Teams notifier: Adaptive Card for Workflows, or a legacy MessageCard (C4)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from certctl.connectors.notifiers.base import Receipt, Rendered
from certctl.connectors.notifiers.facts import clip, facts
from certctl.connectors.notifiers.http import JSON_HEADERS, HttpPoster, SecretHttpUrl, url_secrets
from certctl.connectors.notifiers.transport import HttpTransport
from certctl.domain.alerts import AlertMessage
from certctl.domain.policies import AlertChannel

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
# TextBlock colours are a closed set in the Adaptive Card schema (default, accent, good,
# warning, attention...); MessageCard themeColor is a hex RGB string.
CARD_COLORS = {"informational": "Accent", "warning": "Warning", "critical": "Attention"}
THEME_COLORS = {"informational": "0078D7", "warning": "FFB900", "critical": "D13438"}
# Power Automate answers 202 Accepted; legacy Office 365 connectors answered 200 with "1".
SUCCESS = frozenset({200, 202})


class TeamsConfig(BaseModel):
    """A Teams incoming webhook: a Workflows trigger URL, or a legacy connector URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    send_resolved: bool = Field(
        default=False, description="Send a notice when an alert resolves (default off)"
    )

    webhook_url: SecretHttpUrl = Field(description="Workflow or connector URL (a credential)")
    format: Literal["workflows", "messagecard"] = Field(
        default="workflows", description="workflows (Adaptive Card) or messagecard (legacy)"
    )


def adaptive_card(message: AlertMessage) -> dict[str, Any]:
    """Adaptive Card 1.4, wrapped in the message envelope Workflows expect."""
    title = {
        "type": "TextBlock",
        "text": message.subject,
        "weight": "Bolder",
        "size": "Medium",
        "wrap": True,
        "color": CARD_COLORS.get(message.severity_tier, "Default"),
    }
    body: list[dict[str, Any]] = [title]
    if message.body:
        body.append({"type": "TextBlock", "text": message.body, "wrap": True})
    rows = [{"title": fact.label, "value": fact.value} for fact in facts(message)]
    body.append({"type": "FactSet", "facts": rows})
    card: dict[str, Any] = {
        "$schema": ADAPTIVE_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if message.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open certificate", "url": message.link}
        ]
    attachment = {"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


def message_card(message: AlertMessage) -> dict[str, Any]:
    """Legacy connector MessageCard, coloured by tier."""
    section: dict[str, Any] = {
        "activityTitle": message.subject,
        "facts": [{"name": fact.label, "value": fact.value} for fact in facts(message)],
        "markdown": False,
    }
    if message.body:
        section["text"] = message.body
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": clip(message.subject, 150),
        "themeColor": THEME_COLORS.get(message.severity_tier, THEME_COLORS["informational"]),
        "title": message.subject,
        "sections": [section],
    }
    if message.link:
        target = {"os": "default", "uri": message.link}
        action = {"@type": "OpenUri", "name": "Open certificate", "targets": [target]}
        card["potentialAction"] = [action]
    return card


class TeamsNotifier:
    """Posts one card to a Teams webhook; any 2xx is success (200 and 202 are expected)."""

    channel: str = AlertChannel.TEAMS.value
    Config: ClassVar[type[TeamsConfig]] = TeamsConfig

    def __init__(
        self, config: TeamsConfig, *, http: HttpTransport, allow_private: bool, timeout: float
    ) -> None:
        self.config = config
        self._url = config.webhook_url.get_secret_value()
        self._poster = HttpPoster(
            self.channel, http, allow_private, timeout, url_secrets(self._url)
        )

    def render(self, message: AlertMessage) -> Rendered:
        """The card in the configured format."""
        if self.config.format == "messagecard":
            return Rendered(body=message_card(message), headers=dict(JSON_HEADERS))
        return Rendered(body=adaptive_card(message), headers=dict(JSON_HEADERS))

    async def deliver(self, rendered: Rendered) -> Receipt:
        """POST the card; Workflows answer with an empty 202."""
        answer = await self._poster.post(
            self._url, rendered.body, rendered.headers, expected=SUCCESS, field="webhook_url"
        )
        return Receipt(clip(answer.text.strip(), 200) or "accepted")
