"""The built-in notification channels: config schemas for forms, and validated instances (C4).

Each configured channel becomes its own notifier instance bound to a validated pydantic
config; the channel name is an `AlertChannel` value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal, Protocol

from pydantic import BaseModel, SecretStr, ValidationError

from certctl.connectors.notifiers.base import Notifier
from certctl.connectors.notifiers.email import EmailNotifier
from certctl.connectors.notifiers.opsgenie import OpsGenieNotifier
from certctl.connectors.notifiers.pagerduty import PagerDutyNotifier
from certctl.connectors.notifiers.slack import SlackNotifier
from certctl.connectors.notifiers.teams import TeamsNotifier
from certctl.connectors.notifiers.transport import HttpTransport
from certctl.connectors.notifiers.webhook import WebhookNotifier
from certctl.domain.policies import AlertChannel
from certctl.errors import FieldError, InvalidRequest


class NotifierType(Protocol):
    """A notifier class: its config model, and a constructor taking a validated config."""

    @property
    def Config(self) -> type[BaseModel]:
        """The pydantic model validating this channel's config."""
        ...

    def __call__(
        self, config: Any, /, *, http: HttpTransport, allow_private: bool, timeout: float
    ) -> Notifier:
        """Bind a notifier to a validated config."""
        ...


class ChannelSettings(Protocol):
    """The CERTCTL_* channel variables read here; `certctl.settings.Settings` provides them.

    A protocol rather than an import: connectors sit below settings in the layers.
    """

    slack_webhook_url: SecretStr | None
    slack_channel: str | None
    slack_username: str | None
    teams_webhook_url: SecretStr | None
    teams_format: Literal["workflows", "messagecard"]
    pagerduty_routing_key: SecretStr | None
    pagerduty_events_url: str
    opsgenie_api_key: SecretStr | None
    opsgenie_api_url: str
    webhook_url: str | None
    webhook_secret: SecretStr | None
    smtp_host: str | None
    smtp_port: int
    smtp_username: str | None
    smtp_password: SecretStr | None
    smtp_from_address: str | None
    smtp_security: Literal["starttls", "tls", "none"]


NOTIFIER_TYPES: Mapping[str, NotifierType] = MappingProxyType(
    {
        AlertChannel.EMAIL.value: EmailNotifier,
        AlertChannel.WEBHOOK.value: WebhookNotifier,
        AlertChannel.SLACK.value: SlackNotifier,
        AlertChannel.TEAMS.value: TeamsNotifier,
        AlertChannel.PAGERDUTY.value: PagerDutyNotifier,
        AlertChannel.OPSGENIE.value: OpsGenieNotifier,
    }
)


def _notifier_type(channel: str) -> NotifierType:
    try:
        return NOTIFIER_TYPES[channel]
    except KeyError:
        raise InvalidRequest(f"unknown notification channel {channel!r}", field="channel") from None


def config_schema(channel: str) -> dict[str, Any]:
    """JSON schema of a channel's config (secrets are marked `writeOnly`, format password)."""
    return _notifier_type(channel).Config.model_json_schema()


def validate_config(channel: str, config: Mapping[str, Any]) -> BaseModel:
    """The channel's config model, or InvalidRequest naming each bad `config.<field>`."""
    try:
        return _notifier_type(channel).Config.model_validate(dict(config))
    except ValidationError as exc:
        raise InvalidRequest.many(_field_errors(exc)) from exc


def _field_errors(exc: ValidationError) -> tuple[FieldError, ...]:
    # Only `msg` is used: pydantic's full text repeats the input, which may be a secret.
    return tuple(
        FieldError(
            ".".join(["config", *(str(part) for part in error["loc"])]),
            str(error["msg"]).removeprefix("Value error, "),
        )
        for error in exc.errors()
    )


def build_notifier(
    channel: str,
    config: Mapping[str, Any],
    *,
    http: HttpTransport,
    allow_private: bool,
    timeout: float,
) -> Notifier:
    """A notifier instance for `channel` bound to its validated `config`."""
    validated = validate_config(channel, config)
    return _notifier_type(channel)(
        validated, http=http, allow_private=allow_private, timeout=timeout
    )


def _secret(value: SecretStr | None) -> str | None:
    # An empty variable (CERTCTL_SLACK_WEBHOOK_URL=) counts as not set.
    if value is None or not value.get_secret_value():
        return None
    return value.get_secret_value()


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _slack(settings: ChannelSettings) -> dict[str, Any] | None:
    url = _secret(settings.slack_webhook_url)
    if url is None:
        return None
    return _present(
        {"webhook_url": url, "channel": settings.slack_channel, "username": settings.slack_username}
    )


def _teams(settings: ChannelSettings) -> dict[str, Any] | None:
    url = _secret(settings.teams_webhook_url)
    return None if url is None else {"webhook_url": url, "format": settings.teams_format}


def _pagerduty(settings: ChannelSettings) -> dict[str, Any] | None:
    key = _secret(settings.pagerduty_routing_key)
    return (
        None if key is None else {"routing_key": key, "events_url": settings.pagerduty_events_url}
    )


def _opsgenie(settings: ChannelSettings) -> dict[str, Any] | None:
    key = _secret(settings.opsgenie_api_key)
    return None if key is None else {"api_key": key, "api_url": settings.opsgenie_api_url}


def _webhook(settings: ChannelSettings) -> dict[str, Any] | None:
    if not settings.webhook_url:
        return None
    return _present({"url": settings.webhook_url, "secret": _secret(settings.webhook_secret)})


def _email(settings: ChannelSettings) -> dict[str, Any] | None:
    if not settings.smtp_host or not settings.smtp_from_address:
        return None
    return _present(
        {
            "host": settings.smtp_host,
            "port": settings.smtp_port,
            "username": settings.smtp_username or None,
            "password": _secret(settings.smtp_password),
            "from_address": settings.smtp_from_address,
            "security": settings.smtp_security,
        }
    )


_FROM_SETTINGS: Mapping[str, Callable[[ChannelSettings], dict[str, Any] | None]] = {
    AlertChannel.EMAIL.value: _email,
    AlertChannel.WEBHOOK.value: _webhook,
    AlertChannel.SLACK.value: _slack,
    AlertChannel.TEAMS.value: _teams,
    AlertChannel.PAGERDUTY.value: _pagerduty,
    AlertChannel.OPSGENIE.value: _opsgenie,
}


def configs_from_settings(settings: ChannelSettings) -> dict[str, dict[str, Any]]:
    """Config dicts (secrets as plain strings) for each channel set by CERTCTL_* variables."""
    configs = {channel: build(settings) for channel, build in _FROM_SETTINGS.items()}
    return {channel: config for channel, config in configs.items() if config is not None}
