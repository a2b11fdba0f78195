"""PagerDuty Events API v2 events and delivery (C2, C4)."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest

from certctl.connectors.notifiers.pagerduty import PagerDutyConfig, PagerDutyNotifier
from certctl.domain.alerts import AlertMessage, NotificationKind
from certctl.errors import ConnectorError
from certctl.testing.transports import HttpxTransport

from .conftest import Upstream, assert_snapshot, rendered_text

EVENTS_URL = "http://192.0.2.30/v2/enqueue"
ROUTING_KEY = "R0UT1NGKEY0000000000000000000000"
ACCEPTED = b'{"status":"success","message":"Event processed","dedup_key":"pd-dedup-1"}'


def _pagerduty(http: httpx.AsyncClient, **config: object) -> PagerDutyNotifier:
    settings = PagerDutyConfig.model_validate(
        {"routing_key": ROUTING_KEY, "events_url": EVENTS_URL, **config}
    )
    return PagerDutyNotifier(settings, http=http, allow_private=True, timeout=10.0)


def test_render_matches_snapshot(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """A trigger event deduplicated by incident key, with component, group and details."""
    assert_snapshot("pagerduty.json", rendered_text(_pagerduty(http).render(message)))


def test_render_test_message_matches_snapshot(
    http: httpx.AsyncClient, test_message: AlertMessage
) -> None:
    """A test send has its own class and no component, group or links."""
    assert_snapshot("pagerduty_test.json", rendered_text(_pagerduty(http).render(test_message)))


def test_rendering_never_contains_the_routing_key(
    http: httpx.AsyncClient, message: AlertMessage
) -> None:
    """The routing key is a credential and is only added when sending."""
    assert ROUTING_KEY not in rendered_text(_pagerduty(http).render(message))


@pytest.mark.parametrize(
    ("tier", "severity"),
    [
        ("informational", "info"),
        ("warning", "warning"),
        ("critical", "critical"),
        ("bogus", "info"),
    ],
)
def test_severity_follows_tier(
    http: httpx.AsyncClient, message: AlertMessage, tier: str, severity: str
) -> None:
    """Tier maps to severity; an unknown tier is treated as informational."""
    event = _pagerduty(http).render(replace(message, severity_tier=tier)).body
    assert event["payload"]["severity"] == severity


def test_severity_map_overrides_one_tier(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """A configured override replaces only the tiers it names."""
    notifier = _pagerduty(http, severity_map={"warning": "error"})
    severities = [
        notifier.render(replace(message, severity_tier=tier)).body["payload"]["severity"]
        for tier in ("informational", "warning", "critical")
    ]
    assert severities == ["info", "error", "critical"]


def test_summary_is_clipped_to_1024_characters(
    http: httpx.AsyncClient, message: AlertMessage
) -> None:
    """The Events API caps summary at 1024 characters."""
    event = _pagerduty(http).render(replace(message, subject="s" * 2000)).body
    assert event["payload"]["summary"] == "s" * 1023 + "…"


async def test_deliver_adds_routing_key_and_returns_dedup_key(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """The sent event carries the routing key; the receipt is PagerDuty's dedup_key."""
    upstream.answer(202, ACCEPTED, {"Content-Type": "application/json"})
    notifier = _pagerduty(http)
    rendered = notifier.render(message)
    receipt = await notifier.deliver(rendered)
    sent = upstream.sent
    assert (receipt.detail, str(sent.url), json.loads(sent.content)) == (
        "pd-dedup-1",
        EVENTS_URL,
        {**rendered.body, "routing_key": ROUTING_KEY},
    )


async def test_receipt_falls_back_to_the_sent_dedup_key(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """When the answer has no dedup_key the receipt is the one sent."""
    upstream.answer(202, b"accepted")
    notifier = _pagerduty(http)
    receipt = await notifier.deliver(notifier.render(message))
    assert receipt.detail == "certctl-crt_42-v3-T7"


async def test_a_200_from_a_compatible_service_is_a_success(
    http: HttpxTransport, upstream: Upstream, message: AlertMessage
) -> None:
    """A 200 instead of the documented 202 is a delivery, not a failure to retry."""
    upstream.answer(200, b"{}")
    notifier = _pagerduty(http)
    receipt = await notifier.deliver(notifier.render(message))
    assert (len(upstream.requests), receipt.detail) == (1, "certctl-crt_42-v3-T7")


@pytest.mark.parametrize(
    ("status", "body", "headers", "detail", "retry_after"),
    [
        (503, b"Service Unavailable", {}, "PagerDuty answered 503: Service Unavailable", None),
        (
            400,
            b'{"status":"invalid event","errors":["bad routing_key"]}',
            {},
            'PagerDuty answered 400: {"status":"invalid event","errors":["bad routing_key"]}',
            None,
        ),
        (429, b"", {"Retry-After": "60"}, "PagerDuty answered 429", 60.0),
    ],
    ids=["unavailable", "invalid", "rate-limited"],
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
    """Only 202 is success; other answers fail with status, body start and Retry-After."""
    upstream.answer(status, body, headers)
    notifier = _pagerduty(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    error = caught.value
    assert (error.detail, error.connector, error.retry_after) == (detail, "PagerDuty", retry_after)


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (httpx.ConnectError("Connection refused"), "PagerDuty unreachable: Connection refused"),
        (httpx.WriteTimeout("write timed out"), "PagerDuty unreachable: timed out after 10s"),
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
    """A connection failure or timeout says PagerDuty was unreachable, and why."""
    upstream.error = error
    notifier = _pagerduty(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert caught.value.detail == detail


async def test_routing_key_is_redacted_from_errors(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """An answer echoing the routing key does not leak it into last_error."""
    upstream.answer(400, f"unknown routing key {ROUTING_KEY}".encode())
    notifier = _pagerduty(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert caught.value.detail == "PagerDuty answered 400: unknown routing key [redacted]"


async def test_loopback_events_url_is_refused_unless_allowed(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """Without allow_private an events URL on loopback is refused before sending."""
    settings = PagerDutyConfig(routing_key=ROUTING_KEY, events_url="http://127.0.0.1:9/v2/enqueue")
    notifier = PagerDutyNotifier(settings, http=http, allow_private=False, timeout=10.0)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert (caught.value.detail, upstream.requests) == (
        "PagerDuty target refused: events_url must not point to a loopback address: 127.0.0.1",
        [],
    )


async def test_a_resolved_alert_sends_resolve_with_the_trigger_dedup_key(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """A resolve notice is `event_action: resolve` with the trigger's dedup_key, nothing else."""
    upstream.answer(202, ACCEPTED, {"Content-Type": "application/json"})
    notifier = _pagerduty(http)
    resolve = replace(message, kind=NotificationKind.RESOLVED, resolve_reason="renewed")
    await notifier.deliver(notifier.render(resolve))
    assert json.loads(upstream.sent.content) == {
        "event_action": "resolve",
        "dedup_key": "certctl-crt_42-v3-T7",
        "routing_key": ROUTING_KEY,
    }
