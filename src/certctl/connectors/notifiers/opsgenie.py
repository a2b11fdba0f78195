"""OpsGenie Alert API notifier: `POST /v2/alerts`, deduplicated by alias, closed by alias
when the alert resolves (C2, C3, C4).

The API key is a credential: `render` leaves it out and `deliver` sends it in the
`Authorization: GenieKey <key>` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from certctl.connectors.notifiers.base import Receipt, Rendered
from certctl.connectors.notifiers.facts import clip, details
from certctl.connectors.notifiers.http import JSON_HEADERS, HttpPoster, HttpUrl
from certctl.connectors.notifiers.transport import HttpTransport
from certctl.domain.alerts import AlertMessage, NotificationKind
from certctl.domain.policies import AlertChannel, SeverityTier

API_URL = "https://api.opsgenie.com"  # EU instances use https://api.eu.opsgenie.com
# Create-alert field limits: message 130 characters, alias 512, description 15000,
# entity 512, source 100; at most 20 tags of 50 characters each. Answered 202 with a requestId.
MESSAGE_LIMIT = 130
ALIAS_LIMIT = 512
DESCRIPTION_LIMIT = 15000
ENTITY_LIMIT = 512
TAG_LIMIT = 50
NOTE_LIMIT = 25000
MAX_TAGS = 20
OpsGeniePriority = Literal["P1", "P2", "P3", "P4", "P5"]
DEFAULT_PRIORITIES: Mapping[SeverityTier, OpsGeniePriority] = {
    SeverityTier.INFORMATIONAL: "P5",
    SeverityTier.WARNING: "P3",
    SeverityTier.CRITICAL: "P1",
}


class OpsGenieConfig(BaseModel):
    """An OpsGenie API integration key and where its API lives (US or EU)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    send_resolved: bool = Field(
        default=True, description="Send a notice when an alert resolves (default on)"
    )

    api_key: SecretStr = Field(min_length=1, description="API integration key")
    api_url: HttpUrl = Field(default=API_URL, description="API base URL (EU: api.eu.opsgenie.com)")
    priority_map: dict[SeverityTier, OpsGeniePriority] = Field(
        default_factory=dict, description="Overrides of tier → priority"
    )
    tags: list[str] = Field(default_factory=list, description="Extra tags on every alert")
    responders: list[str] = Field(
        default_factory=list, description="OpsGenie team names notified (responders of type team)"
    )

    def priority(self, tier: str) -> OpsGeniePriority:
        """The alert priority for a tier; an unknown tier is treated as informational."""
        try:
            key = SeverityTier(tier)
        except ValueError:
            key = SeverityTier.INFORMATIONAL
        return self.priority_map.get(key, DEFAULT_PRIORITIES[key])


def _tags(message: AlertMessage, extra: list[str]) -> list[str]:
    candidates = ["certctl", message.severity_tier, message.environment, *extra]
    unique = dict.fromkeys(clip(tag, TAG_LIMIT) for tag in candidates if tag)
    return list(unique)[:MAX_TAGS]


class OpsGenieNotifier:
    """Creates OpsGenie alerts whose alias is the alert's incident key."""

    channel: str = AlertChannel.OPSGENIE.value
    Config: ClassVar[type[OpsGenieConfig]] = OpsGenieConfig

    def __init__(
        self,
        config: OpsGenieConfig,
        *,
        http: HttpTransport,
        allow_private: bool,
        timeout: float,
    ) -> None:
        self.config = config
        self._key = config.api_key.get_secret_value()
        self._poster = HttpPoster(self.channel, http, allow_private, timeout, (self._key,))

    def render(self, message: AlertMessage) -> Rendered:
        """The create-alert request body, without the API key; for a resolved alert the
        close request of the alert with that alias."""
        if message.kind is NotificationKind.RESOLVED:
            alias = quote(clip(message.incident_key, ALIAS_LIMIT), safe="")
            close = {"source": "certctl", "note": clip(message.resolve_reason, NOTE_LIMIT)}
            path = f"/v2/alerts/{alias}/close?identifierType=alias"
            return Rendered(body=close, headers=dict(JSON_HEADERS), path=path)
        alert: dict[str, Any] = {
            "message": clip(message.subject, MESSAGE_LIMIT),
            "alias": clip(message.incident_key, ALIAS_LIMIT),
            "description": clip(message.body, DESCRIPTION_LIMIT),
            "priority": self.config.priority(message.severity_tier),
            "tags": _tags(message, self.config.tags),
            "details": details(message),
            "source": "certctl",
        }
        if self.config.responders:
            alert["responders"] = [{"type": "team", "name": n} for n in self.config.responders]
        if message.common_name or message.certificate_name:
            alert["entity"] = clip(message.common_name or message.certificate_name, ENTITY_LIMIT)
        return Rendered(body=alert, headers=dict(JSON_HEADERS))

    async def deliver(self, rendered: Rendered) -> Receipt:
        """Create the alert; the receipt is OpsGenie's requestId."""
        url = self.config.api_url.rstrip("/") + (rendered.path or "/v2/alerts")
        headers = {**rendered.headers, "Authorization": f"GenieKey {self._key}"}
        answer = await self._poster.post(
            url, rendered.body, headers, expected={202}, field="api_url"
        )
        answered = answer.json()
        if isinstance(answered, dict) and isinstance(answered.get("requestId"), str):
            return Receipt(answered["requestId"])
        return Receipt("accepted")
