"""OpsGenie create-alert requests and delivery (C2, C4)."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest

from certctl.connectors.notifiers.http import canonical_json
from certctl.connectors.notifiers.opsgenie import OpsGenieConfig, OpsGenieNotifier
from certctl.domain.alerts import AlertMessage, NotificationKind
from certctl.errors import ConnectorError
from certctl.testing.transports import HttpxTransport

from .conftest import Upstream, assert_snapshot, rendered_text

API_URL = "http://192.0.2.40/"
API_KEY = "0psg3n1e-key-0000-0000-000000000000"
ACCEPTED = b'{"result":"Request will be processed","took":0.302,"requestId":"43a29c5c-3dbf"}'


def _opsgenie(http: httpx.AsyncClient, **config: object) -> OpsGenieNotifier:
    settings = OpsGenieConfig.model_validate({"api_key": API_KEY, "api_url": API_URL, **config})
    return OpsGenieNotifier(settings, http=http, allow_private=True, timeout=10.0)


def test_render_matches_snapshot(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """An alert with alias, priority, tags, details, entity and source."""
    assert_snapshot("opsgenie.json", rendered_text(_opsgenie(http).render(message)))


def test_render_test_message_matches_snapshot(
    http: httpx.AsyncClient, test_message: AlertMessage
) -> None:
    """A test send has no entity and only the certctl and tier tags."""
    assert_snapshot("opsgenie_test.json", rendered_text(_opsgenie(http).render(test_message)))


@pytest.mark.parametrize(
    ("tier", "priority"),
    [("informational", "P5"), ("warning", "P3"), ("critical", "P1"), ("bogus", "P5")],
)
def test_priority_follows_tier(
    http: httpx.AsyncClient, message: AlertMessage, tier: str, priority: str
) -> None:
    """Tier maps to priority; an unknown tier is treated as informational."""
    alert = _opsgenie(http).render(replace(message, severity_tier=tier)).body
    assert alert["priority"] == priority


def test_priority_map_overrides_one_tier(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """A configured override replaces only the tiers it names."""
    notifier = _opsgenie(http, priority_map={"critical": "P2"})
    priorities = [
        notifier.render(replace(message, severity_tier=tier)).body["priority"]
        for tier in ("informational", "warning", "critical")
    ]
    assert priorities == ["P5", "P3", "P2"]


def test_message_is_clipped_to_130_characters(
    http: httpx.AsyncClient, message: AlertMessage
) -> None:
    """OpsGenie caps the alert message at 130 characters."""
    alert = _opsgenie(http).render(replace(message, subject="m" * 200)).body
    assert alert["message"] == "m" * 129 + "…"


def test_extra_tags_are_appended_once(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """Configured tags follow the built-in ones, without duplicates."""
    alert = _opsgenie(http, tags=["pki", "certctl", "team-platform"]).render(message).body
    assert alert["tags"] == ["certctl", "warning", "production", "pki", "team-platform"]


def test_responders_are_opsgenie_teams(http: httpx.AsyncClient, message: AlertMessage) -> None:
    """Configured responders (a team's override) are sent as OpsGenie teams; none: no key."""
    alert = _opsgenie(http, responders=["Payments", "SRE"]).render(message).body
    assert alert["responders"] == [
        {"type": "team", "name": "Payments"},
        {"type": "team", "name": "SRE"},
    ]
    assert "responders" not in _opsgenie(http).render(message).body


async def test_deliver_posts_to_v2_alerts_with_geniekey(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """The request goes to {api_url}/v2/alerts with GenieKey auth; the receipt is requestId."""
    upstream.answer(202, ACCEPTED)
    notifier = _opsgenie(http)
    rendered = notifier.render(message)
    receipt = await notifier.deliver(rendered)
    sent = upstream.sent
    assert (receipt.detail, str(sent.url), sent.headers["authorization"], sent.content) == (
        "43a29c5c-3dbf",
        "http://192.0.2.40/v2/alerts",
        f"GenieKey {API_KEY}",
        canonical_json(rendered.body),
    )


async def test_receipt_without_request_id_says_accepted(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """A 202 without a requestId still counts as delivered."""
    upstream.answer(202, b"")
    notifier = _opsgenie(http)
    assert (await notifier.deliver(notifier.render(message))).detail == "accepted"


async def test_a_200_from_a_compatible_service_is_a_success(
    http: HttpxTransport, upstream: Upstream, message: AlertMessage
) -> None:
    """A 200 instead of the documented 202 is a delivery, not a failure to retry."""
    upstream.answer(200, b'{"requestId":"og-200"}')
    notifier = _opsgenie(http)
    receipt = await notifier.deliver(notifier.render(message))
    assert (len(upstream.requests), receipt.detail) == (1, "og-200")


@pytest.mark.parametrize(
    ("status", "body", "headers", "detail", "retry_after"),
    [
        (
            422,
            b'{"message":"Request body is not processable"}',
            {},
            'OpsGenie answered 422: {"message":"Request body is not processable"}',
            None,
        ),
        (429, b"slow down", {"Retry-After": "2"}, "OpsGenie answered 429: slow down", 2.0),
        (
            401,
            f"Key {API_KEY} is invalid".encode(),
            {},
            "OpsGenie answered 401: Key [redacted] is invalid",
            None,
        ),
    ],
    ids=["unprocessable", "rate-limited", "key-redacted"],
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
    notifier = _opsgenie(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    error = caught.value
    assert (error.detail, error.connector, error.retry_after) == (detail, "OpsGenie", retry_after)


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (
            httpx.RemoteProtocolError("Server disconnected"),
            "OpsGenie unreachable: Server disconnected",
        ),
        (httpx.PoolTimeout("pool timed out"), "OpsGenie unreachable: timed out after 10s"),
    ],
    ids=["disconnected", "timeout"],
)
async def test_transport_errors_are_connector_errors(
    http: httpx.AsyncClient,
    upstream: Upstream,
    message: AlertMessage,
    error: Exception,
    detail: str,
) -> None:
    """A broken connection or timeout says OpsGenie was unreachable, and why."""
    upstream.error = error
    notifier = _opsgenie(http)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert caught.value.detail == detail


async def test_multicast_api_url_is_refused_even_when_private_allowed(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """allow_private never opens multicast targets."""
    notifier = _opsgenie(http, api_url="http://224.0.0.251")
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert (caught.value.detail, upstream.requests) == (
        "OpsGenie target refused: api_url must not point to a multicast address: 224.0.0.251",
        [],
    )


async def test_a_resolved_alert_closes_the_alert_by_alias(
    http: httpx.AsyncClient, upstream: Upstream, message: AlertMessage
) -> None:
    """A resolve notice is `POST /v2/alerts/{alias}/close?identifierType=alias` with a note."""
    upstream.answer(202, b'{"requestId":"og-close-1"}')
    notifier = _opsgenie(http)
    resolve = replace(message, kind=NotificationKind.RESOLVED, resolve_reason="renewed")
    receipt = await notifier.deliver(notifier.render(resolve))
    sent = upstream.sent
    assert (receipt.detail, sent.url.path, sent.url.params["identifierType"]) == (
        "og-close-1",
        "/v2/alerts/certctl-crt_42-v3-T7/close",
        "alias",
    )
    assert json.loads(sent.content) == {"source": "certctl", "note": "renewed"}
