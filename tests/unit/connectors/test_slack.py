"""Slack incoming-webhook payloads and delivery (C4)."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from certctl.connectors.notifiers.http import canonical_json
from certctl.connectors.notifiers.slack import SlackConfig, SlackNotifier
from certctl.domain.alerts import AlertMessage
from certctl.errors import ConnectorError
from certctl.testing.transports import HttpxTransport

from .conftest import Upstream, assert_snapshot, rendered_text

URL = "http://192.0.2.10/services/T000/B000/XXXXSECRETXXXX"


def _slack(http: httpx.AsyncClient, **config: object) -> SlackNotifier:
    settings = SlackConfig.model_validate({"webhook_url": URL, **config})
    return SlackNotifier(settings, http=http, allow_private=True, timeout=10.0)


def test_render_matches_snapshot(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """An expiry alert renders as fallback text, header, body, fields, button and context."""
    assert_snapshot("slack.json", rendered_text(_slack(http).render(message)))


def test_render_test_message_matches_snapshot(
    http: httpx.AsyncClient, test_message: AlertMessage
) -> None:
    """A test send has no certificate fields and no button."""
    assert_snapshot("slack_test.json", rendered_text(_slack(http).render(test_message)))


def test_channel_and_username_overrides_are_sent(
    http: httpx.AsyncClient, message: AlertMessage
) -> None:
    """Configured channel and username go into the payload for legacy webhooks."""
    body = _slack(http, channel="#certs", username="certctl").render(message).body
    assert (body["channel"], body["username"]) == ("#certs", "certctl")


def test_mrkdwn_control_characters_are_escaped(
    http: httpx.AsyncClient, message: AlertMessage
) -> None:
    """&, < and > in values cannot become Slack mentions or links."""
    shouting = replace(message, owner_name="<!channel> & co")
    fields = _slack(http).render(shouting).body["blocks"][2]["fields"]
    assert fields[4] == {"type": "mrkdwn", "text": "*Owner*\n&lt;!channel&gt; &amp; co"}


def test_header_is_clipped_to_block_kit_limit(
    http: httpx.AsyncClient, message: AlertMessage
) -> None:
    """A header longer than 150 characters is cut with an ellipsis."""
    header = _slack(http).render(replace(message, subject="x" * 200)).body["blocks"][0]
    assert header["text"]["text"] == "x" * 149 + "…"


async def test_deliver_posts_canonical_json_to_the_webhook(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """The body sent is the canonical JSON of the rendering; the receipt is Slack's `ok`."""
    notifier = _slack(http)
    rendered = notifier.render(message)
    receipt = await notifier.deliver(rendered)
    sent = upstream.sent
    assert (receipt.detail, str(sent.url), sent.headers["content-type"], sent.content) == (
        "ok",
        URL,
        "application/json",
        canonical_json(rendered.body),
    )


async def test_a_2xx_other_than_200_is_a_success(
    http: HttpxTransport, upstream: Upstream, message: AlertMessage
) -> None:
    """A 204 from a proxy in front of Slack is delivered, not re-sent (any 2xx succeeds)."""
    upstream.answer(204, b"")
    notifier = _slack(http)
    receipt = await notifier.deliver(notifier.render(message))
    assert (len(upstream.requests), receipt.detail) == (1, "ok")


@pytest.mark.parametrize(
    ("status", "body", "headers", "detail", "retry_after"),
    [
        (404, b"channel_not_found", {}, "Slack answered 404: channel_not_found", None),
        (429, b"rate_limited", {"Retry-After": "30"}, "Slack answered 429: rate_limited", 30.0),
        (500, b"x" * 300, {}, "Slack answered 500: " + "x" * 200, None),
    ],
    ids=["not-found", "rate-limited", "long-body"],
)
async def test_non_200_answers_are_connector_errors(
    http: httpx.AsyncClient,
    upstream: Upstream,
    message: AlertMessage,
    status: int,
    body: bytes,
    headers: dict[str, str],
    detail: str,
    retry_after: float | None,
) -> None:
    """A non-2xx answer fails with the status, the start of the body and any Retry-After."""
    upstream.answer(status, body, headers)
    notifier = _slack(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    error = caught.value
    assert (error.detail, error.connector, error.retry_after) == (detail, "Slack", retry_after)


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            "Slack unreachable: [Errno 111] Connection refused",
        ),
        (httpx.ReadTimeout("read timed out"), "Slack unreachable: timed out after 10s"),
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
    """A connection failure or timeout says Slack was unreachable, and why."""
    upstream.error = error
    notifier = _slack(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert caught.value.detail == detail


async def test_webhook_url_is_redacted_from_errors(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """The webhook URL is a credential: an answer echoing it is redacted."""
    upstream.answer(400, f"bad hook {URL}".encode())
    notifier = _slack(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert caught.value.detail == "Slack answered 400: bad hook [redacted]"


async def test_metadata_address_is_refused_before_sending(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """The SSRF guard stops a webhook aimed at the cloud metadata service."""
    notifier = _slack(http, webhook_url="http://169.254.169.254/latest/meta-data")
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert (caught.value.detail, upstream.requests) == (
        "Slack target refused: webhook_url must not point to a link-local address: 169.254.169.254",
        [],
    )
