"""The notifier registry: types, config schemas, validated instances, environment configs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from certctl.connectors.notifiers.email import EmailNotifier
from certctl.connectors.notifiers.opsgenie import OpsGenieNotifier
from certctl.connectors.notifiers.pagerduty import PagerDutyNotifier
from certctl.connectors.notifiers.slack import SlackNotifier
from certctl.connectors.notifiers.teams import TeamsNotifier
from certctl.connectors.notifiers.webhook import WebhookNotifier
from certctl.connectors.registry import (
    NOTIFIER_TYPES,
    build_notifier,
    config_schema,
    configs_from_settings,
)
from certctl.domain.policies import AlertChannel
from certctl.errors import FieldError, InvalidRequest
from certctl.settings import Settings

MINIMAL: dict[str, tuple[dict[str, Any], type]] = {
    "Email": ({"host": "smtp.example.com", "from_address": "certctl@example.com"}, EmailNotifier),
    "Webhook": ({"url": "https://hooks.example.com/in"}, WebhookNotifier),
    "Slack": ({"webhook_url": "https://hooks.slack.com/services/T/B/X"}, SlackNotifier),
    "Teams": ({"webhook_url": "https://prod.example.com/workflows/x"}, TeamsNotifier),
    "PagerDuty": ({"routing_key": "R0UT1NG"}, PagerDutyNotifier),
    "OpsGenie": ({"api_key": "GENIE"}, OpsGenieNotifier),
}
ALL_CHANNELS: dict[str, object] = {
    "slack_webhook_url": "https://hooks.slack.com/services/T/B/X",
    "slack_channel": "#certs",
    "teams_webhook_url": "https://prod.example.com/workflows/x",
    "teams_format": "messagecard",
    "pagerduty_routing_key": "R0UT1NG",
    "opsgenie_api_key": "GENIE",
    "opsgenie_api_url": "https://api.eu.opsgenie.com",
    "webhook_url": "https://hooks.example.com/in",
    "webhook_secret": "whsec",
    "smtp_host": "smtp.example.com",
    "smtp_username": "certctl",
    "smtp_password": "smtp-pass",
    "smtp_from_address": "certctl@example.com",
}


def _errors(
    channel: str, config: dict[str, Any], http: httpx.AsyncClient
) -> tuple[FieldError, ...]:
    with pytest.raises(InvalidRequest) as caught:
        build_notifier(channel, config, http=http, allow_private=False, timeout=10.0)
    return caught.value.errors


def test_registry_covers_exactly_the_channel_enum() -> None:
    """One built-in notifier per AlertChannel value, keyed by that value."""
    assert sorted(NOTIFIER_TYPES) == sorted(c.value for c in AlertChannel)


def test_registry_is_read_only() -> None:
    """Nobody can swap a notifier type at run time."""
    with pytest.raises(TypeError):
        NOTIFIER_TYPES["Slack"] = WebhookNotifier  # type: ignore[index]


@pytest.mark.parametrize("channel", sorted(MINIMAL))
def test_build_notifier_binds_the_channel_class(channel: str, http: httpx.AsyncClient) -> None:
    """A minimal valid config yields an instance of the channel's class, named after it."""
    config, cls = MINIMAL[channel]
    notifier = build_notifier(channel, config, http=http, allow_private=False, timeout=10.0)
    assert (type(notifier), notifier.channel) == (cls, channel)


@pytest.mark.parametrize("channel", sorted(MINIMAL))
def test_config_schemas_forbid_unknown_keys(channel: str) -> None:
    """Every schema is a closed object, so forms and the API reject typos."""
    schema = config_schema(channel)
    assert (schema["type"], schema["additionalProperties"]) == ("object", False)


def test_secret_fields_are_write_only_in_the_schema() -> None:
    """Secrets are marked for password inputs that never show the stored value."""
    url = config_schema("Slack")["properties"]["webhook_url"]
    assert (url["format"], url["writeOnly"], config_schema("Slack")["required"]) == (
        "password",
        True,
        ["webhook_url"],
    )


def test_unknown_channel_is_an_invalid_request(http: httpx.AsyncClient) -> None:
    """An off-enum channel names the `channel` field."""
    with pytest.raises(InvalidRequest) as caught:
        config_schema("PagerD")
    assert (caught.value.detail, caught.value.field) == (
        "unknown notification channel 'PagerD'",
        "channel",
    )


def test_unknown_and_missing_keys_name_config_fields(http: httpx.AsyncClient) -> None:
    """A typo reports both the missing field and the unknown one, under `config.`."""
    assert _errors("Slack", {"webhok_url": "https://x.example/y"}, http) == (
        FieldError("config.webhook_url", "Field required"),
        FieldError("config.webhok_url", "Extra inputs are not permitted"),
    )


def test_bad_secret_url_is_refused_without_echoing_it(http: httpx.AsyncClient) -> None:
    """The message explains the rule and never repeats the credential."""
    errors = _errors("Slack", {"webhook_url": "ftp://hooks.example.com/T/B/SECRET"}, http)
    assert errors == (FieldError("config.webhook_url", "must be an http or https URL with a host"),)


def test_nested_errors_name_the_nested_field(http: httpx.AsyncClient) -> None:
    """A bad severity override names the tier it was set for."""
    errors = _errors("PagerDuty", {"routing_key": "k", "severity_map": {"warning": "loud"}}, http)
    assert errors == (
        FieldError(
            "config.severity_map.warning",
            "Input should be 'critical', 'error', 'warning' or 'info'",
        ),
    )


def test_no_channel_variables_means_no_configs() -> None:
    """A default server has no channel configured from its environment."""
    assert configs_from_settings(Settings()) == {}


def test_every_channel_variable_maps_to_its_config() -> None:
    """Each channel set in the environment becomes one config dict, secrets in plain text."""
    assert configs_from_settings(Settings(**ALL_CHANNELS)) == {  # type: ignore[arg-type]
        "Email": {
            "host": "smtp.example.com",
            "port": 587,
            "username": "certctl",
            "password": "smtp-pass",
            "from_address": "certctl@example.com",
            "security": "starttls",
        },
        "Webhook": {"url": "https://hooks.example.com/in", "secret": "whsec"},
        "Slack": {"webhook_url": "https://hooks.slack.com/services/T/B/X", "channel": "#certs"},
        "Teams": {"webhook_url": "https://prod.example.com/workflows/x", "format": "messagecard"},
        "PagerDuty": {
            "routing_key": "R0UT1NG",
            "events_url": "https://events.pagerduty.com/v2/enqueue",
        },
        "OpsGenie": {"api_key": "GENIE", "api_url": "https://api.eu.opsgenie.com"},
    }


@pytest.mark.parametrize(
    ("variables", "channels"),
    [
        ({"slack_webhook_url": ""}, []),
        ({"slack_channel": "#certs"}, []),
        ({"smtp_host": "smtp.example.com"}, []),
        ({"smtp_from_address": "certctl@example.com"}, []),
        ({"webhook_secret": "whsec"}, []),
        ({"smtp_host": "smtp.example.com", "smtp_from_address": "c@example.com"}, ["Email"]),
        ({"pagerduty_routing_key": "k", "opsgenie_api_key": "g"}, ["OpsGenie", "PagerDuty"]),
    ],
)
def test_channel_needs_its_required_variables(
    variables: dict[str, object], channels: list[str]
) -> None:
    """Only the required variables enable a channel; an empty value counts as unset."""
    assert sorted(configs_from_settings(Settings(**variables))) == channels  # type: ignore[arg-type]


def test_environment_configs_build_notifiers(http: httpx.AsyncClient) -> None:
    """Every config derived from the environment passes its channel's validation."""
    configs = configs_from_settings(Settings(**ALL_CHANNELS))  # type: ignore[arg-type]
    built = {
        channel: build_notifier(channel, config, http=http, allow_private=False, timeout=10.0)
        for channel, config in configs.items()
    }
    assert {channel: notifier.channel for channel, notifier in built.items()} == {
        channel: channel for channel in MINIMAL
    }
