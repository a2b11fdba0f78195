"""Generic webhook events, their HMAC signature, and delivery (C4)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import timedelta, timezone

import httpx
import pytest

from certctl.connectors.notifiers.webhook import WebhookConfig, WebhookNotifier
from certctl.domain.alerts import AlertMessage
from certctl.errors import ConnectorError

from .conftest import Upstream, assert_snapshot, rendered_text

URL = "http://192.0.2.50/hooks/certctl?token=T0KEN"
SECRET = "whsec-0123456789abcdef"


def _webhook(http: httpx.AsyncClient, **config: object) -> WebhookNotifier:
    settings = WebhookConfig.model_validate({"url": URL, "secret": SECRET, **config})
    return WebhookNotifier(settings, http=http, allow_private=True, timeout=10.0)


def test_render_matches_snapshot(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """A `certificate.expiring` event with its certificate, tier, threshold and signature."""
    assert_snapshot("webhook.json", rendered_text(_webhook(http).render(message)))


def test_render_test_message_matches_snapshot(
    http: httpx.AsyncClient, test_message: AlertMessage
) -> None:
    """A test send is a `certctl.test` event with empty certificate fields."""
    assert_snapshot("webhook_test.json", rendered_text(_webhook(http).render(test_message)))


def test_no_secret_means_no_signature(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """Without a secret only the content type is sent."""
    rendered = _webhook(http, secret=None).render(message)
    assert rendered.headers == {"Content-Type": "application/json"}


def test_non_utc_times_are_sent_in_utc(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """Timestamps are normalised to UTC with a Z suffix."""
    paris = timezone(timedelta(hours=2))
    local = replace(message, occurred_at=message.occurred_at.astimezone(paris))
    assert _webhook(http).render(local).body["occurred_at"] == "2026-06-01T12:00:00Z"


async def test_signature_verifies_over_the_bytes_sent(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """A receiver recomputing HMAC-SHA256 over the raw body gets the X-Signature value."""
    notifier = _webhook(http)
    await notifier.deliver(notifier.render(message))
    sent = upstream.sent
    expected = hmac.new(SECRET.encode(), sent.content, hashlib.sha256).hexdigest()
    assert sent.headers["x-signature"] == f"sha256={expected}"


@pytest.mark.parametrize(
    ("status", "body", "receipt"),
    [(200, b"ok", "ok"), (202, b"", "HTTP 202"), (204, b"", "HTTP 204")],
)
async def test_any_2xx_is_success(
    http: httpx.AsyncClient,
    upstream: Upstream,
    message: AlertMessage,
    status: int,
    body: bytes,
    receipt: str,
) -> None:
    """Every 2xx answer is a delivery; the receipt is the body or the status."""
    upstream.answer(status, body)
    notifier = _webhook(http)
    assert (await notifier.deliver(notifier.render(message))).detail == receipt


@pytest.mark.parametrize(
    ("status", "body", "headers", "detail", "retry_after"),
    [
        (500, b"boom", {}, "Webhook answered 500: boom", None),
        (302, b"", {"Location": "http://169.254.169.254/"}, "Webhook answered 302", None),
        (
            429,
            b"later",
            {
                "Retry-After": "Mon, 01 Jun 2026 12:02:00 GMT",
                "Date": "Mon, 01 Jun 2026 12:00:00 GMT",
            },
            "Webhook answered 429: later",
            120.0,
        ),
        (404, f"no route {URL}".encode(), {}, "Webhook answered 404: no route [redacted]", None),
    ],
    ids=["server-error", "redirect-not-followed", "rate-limited-date", "url-redacted"],
)
async def test_non_2xx_answers_are_connector_errors(
    http: httpx.AsyncClient,
    upstream: Upstream,
    message: AlertMessage,
    status: int,
    body: bytes,
    headers: dict[str, str],
    detail: str,
    retry_after: float | None,
) -> None:
    """Non-2xx answers fail; redirects are not followed past the SSRF check."""
    upstream.answer(status, body, headers)
    notifier = _webhook(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    error = caught.value
    assert (error.detail, error.connector, error.retry_after, len(upstream.requests)) == (
        detail,
        "Webhook",
        retry_after,
        1,
    )


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (
            httpx.ConnectError("All connection attempts failed"),
            "Webhook unreachable: All connection attempts failed",
        ),
        (httpx.ReadTimeout(""), "Webhook unreachable: timed out after 10s"),
        (httpx.ReadError(""), "Webhook unreachable: ReadError"),
    ],
    ids=["refused", "timeout", "no-reason"],
)
async def test_transport_errors_are_connector_errors(
    http: httpx.AsyncClient,
    upstream: Upstream,
    message: AlertMessage,
    error: Exception,
    detail: str,
) -> None:
    """A transport failure says the webhook was unreachable, and why."""
    upstream.error = error
    notifier = _webhook(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert caught.value.detail == detail


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("ftp://192.0.2.50/x", "url must use http or https"),
        ("http://[fe80::1]/x", "url must not point to a link-local address: fe80::1"),
    ],
)
async def test_refused_targets_are_not_contacted(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage, url: str, detail: str
) -> None:
    """A URL the SSRF guard refuses fails before any request is made."""
    settings = WebhookConfig.model_construct(url=url, secret=None)
    notifier = WebhookNotifier(settings, http=http, allow_private=True, timeout=10.0)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert (caught.value.detail, upstream.requests) == (f"Webhook target refused: {detail}", [])


@pytest.mark.parametrize(("level", "escalated"), [(0, False), (1, True), (2, True)])
def test_alert_events_carry_the_escalation(
    http: httpx.AsyncClient, message: AlertMessage, level: int, escalated: bool
) -> None:
    """An alert event has `escalated` (level above 0) and `escalation_level`, even at 0."""
    alert = replace(message, alert_id="al-1", threshold="7", escalation_level=level)
    body = _webhook(http).render(alert).body
    assert (body["alert_id"], body["escalated"], body["escalation_level"]) == (
        "al-1",
        escalated,
        level,
    )


def test_events_without_an_alert_have_no_escalation_fields(
    http: httpx.AsyncClient, message: AlertMessage
) -> None:
    """A message without an alert id (a test send, a revocation) keeps its exact shape."""
    body = _webhook(http).render(replace(message, escalation_level=1)).body
    assert {"escalated", "escalation_level"} & set(body) == set()
