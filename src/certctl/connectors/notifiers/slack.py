"""Slack incoming-webhook notifier: fallback text plus Block Kit blocks (C4)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from certctl.connectors.notifiers.base import Receipt, Rendered
from certctl.connectors.notifiers.facts import clip, facts
from certctl.connectors.notifiers.http import JSON_HEADERS, HttpPoster, SecretHttpUrl, url_secrets
from certctl.connectors.notifiers.transport import HttpTransport
from certctl.domain.alerts import AlertMessage
from certctl.domain.policies import AlertChannel

# Block Kit limits: header text 150 characters, section text 3000, each field 2000.
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000


class SlackConfig(BaseModel):
    """A Slack incoming webhook; channel and username only work on legacy webhooks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    send_resolved: bool = Field(
        default=False, description="Send a notice when an alert resolves (default off)"
    )

    webhook_url: SecretHttpUrl = Field(description="Incoming webhook URL (a credential)")
    channel: str | None = Field(default=None, description="Channel override, e.g. #certs")
    username: str | None = Field(default=None, description="Sender name override")


def escape_mrkdwn(text: str) -> str:
    """Slack's documented mrkdwn escaping: only &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str, limit: int) -> str:
    # Clip before escaping so an entity is never cut in half, leaving room for its growth.
    growth = len(escape_mrkdwn(text[:limit])) - len(text[:limit])
    return escape_mrkdwn(clip(text, limit - growth))


def _blocks(message: AlertMessage) -> list[dict[str, Any]]:
    header = {"type": "plain_text", "text": clip(message.subject, HEADER_LIMIT)}
    blocks: list[dict[str, Any]] = [{"type": "header", "text": header}]
    if message.body:
        text = {"type": "mrkdwn", "text": _mrkdwn(message.body, SECTION_LIMIT)}
        blocks.append({"type": "section", "text": text})
    fields = [
        {"type": "mrkdwn", "text": _mrkdwn(f"*{fact.label}*\n{fact.value}", FIELD_LIMIT)}
        for fact in facts(message)
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if message.link:
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open certificate"},
            "url": message.link,
        }
        blocks.append({"type": "actions", "elements": [button]})
    context = {"type": "mrkdwn", "text": f"certctl notification {message.notification_id}"}
    blocks.append({"type": "context", "elements": [context]})
    return blocks


class SlackNotifier:
    """Posts to one Slack incoming webhook; Slack answers 200 with the body `ok`."""

    channel: str = AlertChannel.SLACK.value
    Config: ClassVar[type[SlackConfig]] = SlackConfig

    def __init__(
        self, config: SlackConfig, *, http: HttpTransport, allow_private: bool, timeout: float
    ) -> None:
        self.config = config
        self._url = config.webhook_url.get_secret_value()
        self._poster = HttpPoster(
            self.channel, http, allow_private, timeout, url_secrets(self._url)
        )

    def render(self, message: AlertMessage) -> Rendered:
        """`text` is the notification fallback Slack shows where blocks cannot be rendered."""
        body: dict[str, Any] = {
            "text": _mrkdwn(message.subject, SECTION_LIMIT),
            "blocks": _blocks(message),
        }
        if self.config.channel:
            body["channel"] = self.config.channel
        if self.config.username:
            body["username"] = self.config.username
        return Rendered(body=body, headers=dict(JSON_HEADERS))

    async def deliver(self, rendered: Rendered) -> Receipt:
        """POST to the webhook; anything but 200 is a failure."""
        answer = await self._poster.post(
            self._url, rendered.body, rendered.headers, expected={200}, field="webhook_url"
        )
        return Receipt(clip(answer.text.strip(), 200) or "ok")
