"""Notifiers against real receivers on 127.0.0.1: HTTP and SMTP over actual sockets (C4)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from certctl.connectors.notifiers.transport import AiohttpTransport
from certctl.connectors.registry import build_notifier
from certctl.domain.alerts import AlertMessage, NotificationKind
from certctl.errors import ConnectorError
from certctl.testing.receivers import RecordingReceiver, SmtpReceiver

MESSAGE = AlertMessage(
    notification_id="ntf_RX1",
    kind=NotificationKind.EXPIRATION,
    channel="Slack",
    subject="Certificate api-prod expires in 6 days (2026-06-07)",
    body="Renew api-prod before 2026-06-07.",
    severity_tier="critical",
    occurred_at=datetime(2026, 6, 1, 12, tzinfo=UTC),
    incident_key="certctl-crt_1-v1-T7",
    certificate_id="crt_1",
    certificate_name="api-prod",
    common_name="api.example.com",
    expires_at=datetime(2026, 6, 7, 18, 30, tzinfo=UTC),
    days_left=6,
    threshold_days=7,
    recipients=("ada@example.com",),
)


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


@pytest.fixture
async def http() -> AsyncIterator[AiohttpTransport]:
    """The server's delivery transport, closed after the test."""
    transport = AiohttpTransport(pool_size=10, user_agent="certctl/test")
    yield transport
    await transport.aclose()


@pytest.fixture
async def receiver() -> AsyncIterator[RecordingReceiver]:
    """A recording HTTP server on a kernel-chosen port."""
    async with RecordingReceiver() as rx:
        yield rx


async def test_slack_delivers_to_a_real_server(
    http: AiohttpTransport, receiver: RecordingReceiver
) -> None:
    """The receiver records the POST exactly as rendered; Slack's `ok` is the receipt."""
    notifier = build_notifier(
        "Slack",
        {"webhook_url": f"{receiver.url}/services/T/B/X"},
        http=http,
        allow_private=True,
        timeout=5.0,
    )
    rendered = notifier.render(MESSAGE)
    receipt = await notifier.deliver(rendered)
    request = receiver.requests[0]
    assert (receipt.detail, request.method, request.path, request.json()) == (
        "ok",
        "POST",
        "/services/T/B/X",
        rendered.body,
    )


async def test_loopback_receiver_is_refused_without_allow_private(
    http: AiohttpTransport, receiver: RecordingReceiver
) -> None:
    """The SSRF guard stops delivery to loopback unless private targets are allowed."""
    notifier = build_notifier(
        "Slack", {"webhook_url": receiver.url}, http=http, allow_private=False, timeout=5.0
    )
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(MESSAGE))
    assert (caught.value.detail, receiver.requests) == (
        "Slack target refused: webhook_url must not point to a loopback address: 127.0.0.1",
        [],
    )


async def test_503_is_a_connector_error(
    http: AiohttpTransport, receiver: RecordingReceiver
) -> None:
    """A receiver answering 503 makes delivery fail with the status and body."""
    receiver.fail_next(1)
    notifier = build_notifier(
        "PagerDuty",
        {"routing_key": "R0UT1NG", "events_url": f"{receiver.url}/v2/enqueue"},
        http=http,
        allow_private=True,
        timeout=5.0,
    )
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(MESSAGE))
    assert (caught.value.detail, caught.value.connector) == (
        "PagerDuty answered 503: unavailable",
        "PagerDuty",
    )


async def test_delivery_succeeds_once_failures_are_used_up(
    http: AiohttpTransport, receiver: RecordingReceiver
) -> None:
    """fail_next(n) fails exactly n requests; the next one gets the normal answer."""
    receiver.fail_next(2)
    receiver.respond_with(202, b'{"status":"success","dedup_key":"certctl-crt_1-v1-T7"}')
    notifier = build_notifier(
        "PagerDuty",
        {"routing_key": "R0UT1NG", "events_url": receiver.url},
        http=http,
        allow_private=True,
        timeout=5.0,
    )
    rendered = notifier.render(MESSAGE)
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append((await notifier.deliver(rendered)).detail)
        except ConnectorError as exc:
            outcomes.append(exc.detail)
    assert outcomes == [
        "PagerDuty answered 503: unavailable",
        "PagerDuty answered 503: unavailable",
        "certctl-crt_1-v1-T7",
    ]


async def test_hanging_receiver_times_out(
    http: AiohttpTransport, receiver: RecordingReceiver
) -> None:
    """A receiver that never answers fails the delivery after the configured timeout."""
    receiver.hang()
    notifier = build_notifier(
        "Teams", {"webhook_url": receiver.url}, http=http, allow_private=True, timeout=0.2
    )
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(MESSAGE))
    assert (caught.value.detail, len(receiver.requests)) == (
        "Teams unreachable: timed out after 0.2s",
        1,
    )


async def test_webhook_signature_verifies_at_the_receiver(
    http: AiohttpTransport, receiver: RecordingReceiver
) -> None:
    """HMAC-SHA256 over the bytes the receiver got matches X-Signature."""
    receiver.respond_with(204)
    notifier = build_notifier(
        "Webhook",
        {"url": f"{receiver.url}/hook", "secret": "whsec-rx"},
        http=http,
        allow_private=True,
        timeout=5.0,
    )
    receipt = await notifier.deliver(notifier.render(MESSAGE))
    request = receiver.requests[0]
    digest = hmac.new(b"whsec-rx", request.body, hashlib.sha256).hexdigest()
    assert (receipt.detail, request.headers["x-signature"]) == ("HTTP 204", f"sha256={digest}")


async def test_opsgenie_rate_limit_carries_retry_after(
    http: AiohttpTransport, receiver: RecordingReceiver
) -> None:
    """A 429 with Retry-After tells the outbox when to try again."""
    receiver.respond_with(429, b"Too Many Requests", {"Retry-After": "45"})
    notifier = build_notifier(
        "OpsGenie",
        {"api_key": "GENIE", "api_url": receiver.url},
        http=http,
        allow_private=True,
        timeout=5.0,
    )
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(MESSAGE))
    request = receiver.requests[0]
    assert (caught.value.retry_after, request.path, request.headers["authorization"]) == (
        45.0,
        "/v2/alerts",
        "GenieKey GENIE",
    )


async def test_email_reaches_the_smtp_receiver(http: AiohttpTransport) -> None:
    """Email with security none arrives with its envelope, headers and both parts."""
    async with SmtpReceiver() as smtp:
        config = {
            "host": smtp.host,
            "port": smtp.port,
            "from_address": "certctl@example.com",
            "security": "none",
        }
        notifier = build_notifier("Email", config, http=http, allow_private=True, timeout=5.0)
        receipt = await notifier.deliver(notifier.render(MESSAGE))
    mail = smtp.envelopes[0]
    assert (
        receipt.detail,
        mail.mail_from,
        mail.rcpt_tos,
        mail.message["Subject"],
        _part(mail.message, "plain").splitlines()[0],
        "<h2>Certificate api-prod expires in 6 days (2026-06-07)</h2>"
        in _part(mail.message, "html"),
    ) == (
        "<ntf_RX1.certctl@example.com>",
        "certctl@example.com",
        ("ada@example.com",),
        "Certificate api-prod expires in 6 days (2026-06-07)",
        "Renew api-prod before 2026-06-07.",
        True,
    )
