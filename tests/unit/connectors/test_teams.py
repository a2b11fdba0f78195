"""Microsoft Teams cards (Workflows Adaptive Card, legacy MessageCard) and delivery (C4)."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from certctl.connectors.notifiers.http import canonical_json
from certctl.connectors.notifiers.teams import TeamsConfig, TeamsNotifier
from certctl.domain.alerts import AlertMessage
from certctl.errors import ConnectorError

from .conftest import Upstream, assert_snapshot, rendered_text

URL = "http://192.0.2.20/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG"


def _teams(http: httpx.AsyncClient, **config: object) -> TeamsNotifier:
    settings = TeamsConfig.model_validate({"webhook_url": URL, **config})
    return TeamsNotifier(settings, http=http, allow_private=True, timeout=10.0)


def test_workflows_card_matches_snapshot(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """The default format is an Adaptive Card 1.4 inside a `message` envelope."""
    assert_snapshot("teams_workflows.json", rendered_text(_teams(http).render(message)))


def test_messagecard_matches_snapshot(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """The legacy format is a MessageCard with facts and an OpenUri action."""
    notifier = _teams(http, format="messagecard")
    assert_snapshot("teams_messagecard.json", rendered_text(notifier.render(message)))


def test_test_message_card_matches_snapshot(
    http: httpx.AsyncClient, test_message: AlertMessage
) -> None:
    """A test send has only the tier fact and no action."""
    assert_snapshot("teams_test.json", rendered_text(_teams(http).render(test_message)))


@pytest.mark.parametrize(
    ("tier", "theme"),
    [
        ("informational", "0078D7"),
        ("warning", "FFB900"),
        ("critical", "D13438"),
        ("other", "0078D7"),
    ],
)
def test_messagecard_theme_color_follows_tier(
    http: httpx.AsyncClient, message: AlertMessage, tier: str, theme: str
) -> None:
    """MessageCard colour: blue, amber, red; an unknown tier is shown as informational."""
    card = _teams(http, format="messagecard").render(replace(message, severity_tier=tier)).body
    assert card["themeColor"] == theme


@pytest.mark.parametrize(
    ("tier", "color"),
    [
        ("informational", "Accent"),
        ("warning", "Warning"),
        ("critical", "Attention"),
        ("other", "Default"),
    ],
)
def test_adaptive_card_title_color_follows_tier(
    http: httpx.AsyncClient, message: AlertMessage, tier: str, color: str
) -> None:
    """Adaptive Card title colour follows the tier."""
    body = _teams(http).render(replace(message, severity_tier=tier)).body
    assert body["attachments"][0]["content"]["body"][0]["color"] == color


@pytest.mark.parametrize("status", [200, 202, 204])
async def test_deliver_accepts_any_2xx(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage, status: int
) -> None:
    """Workflows answer an empty 202, connectors answered 200; any 2xx is success."""
    upstream.answer(status)
    notifier = _teams(http)
    rendered = notifier.render(message)
    receipt = await notifier.deliver(rendered)
    assert (receipt.detail, upstream.sent.content) == ("accepted", canonical_json(rendered.body))


@pytest.mark.parametrize(
    ("status", "body", "headers", "detail", "retry_after"),
    [
        (400, b"Bad payload", {}, "Teams answered 400: Bad payload", None),
        (429, b"Too many", {"Retry-After": "7"}, "Teams answered 429: Too many", 7.0),
    ],
    ids=["bad-request", "rate-limited"],
)
async def test_other_answers_are_connector_errors(
    http: httpx.AsyncClient,
    upstream: Upstream,
    message: AlertMessage,
    status: int,
    body: bytes,
    headers: dict[str, str],
    detail: str,
    retry_after: float | None,
) -> None:
    """A non-2xx answer fails with the status and the start of the body."""
    upstream.answer(status, body, headers)
    notifier = _teams(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    error = caught.value
    assert (error.detail, error.connector, error.retry_after) == (detail, "Teams", retry_after)


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (
            httpx.ConnectError("Name or service not known"),
            "Teams unreachable: Name or service not known",
        ),
        (httpx.ConnectTimeout("connect timed out"), "Teams unreachable: timed out after 10s"),
    ],
    ids=["refused", "timeout"],
)
async def test_transport_errors_are_connector_errors(
    http: httpx.AsyncClient,
    upstream: Upstream,
    message: AlertMessage,
    error: Exception,
    detail: str,
) -> None:
    """A connection failure or timeout says Teams was unreachable, and why."""
    upstream.error = error
    notifier = _teams(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert caught.value.detail == detail


async def test_private_address_is_refused_unless_allowed(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """Without allow_private a webhook on a private network is refused before sending."""
    settings = TeamsConfig(webhook_url="https://10.0.0.5/hook")
    notifier = TeamsNotifier(settings, http=http, allow_private=False, timeout=10.0)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert (caught.value.detail, upstream.requests) == (
        "Teams target refused: webhook_url must not point to a private address: 10.0.0.5",
        [],
    )
