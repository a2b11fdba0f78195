"""Shared fixtures for notifier tests: fixed messages, a fake upstream, snapshot comparison."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from certctl.connectors.notifiers.base import Rendered
from certctl.domain.alerts import AlertMessage, NotificationKind
from certctl.testing.transports import HttpxTransport

SNAPSHOTS = Path(__file__).parent / "snapshots"
OCCURRED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EXPIRES_AT = datetime(2026, 6, 7, 18, 30, tzinfo=UTC)


def expiring_message() -> AlertMessage:
    """A warning-tier T-7 alert for a production certificate, with every field set."""
    return AlertMessage(
        notification_id="ntf_01J0EXAMPLE",
        kind=NotificationKind.EXPIRATION,
        channel="Slack",
        subject="Certificate api-prod expires in 6 days (2026-06-07)",
        body=(
            "Certificate api-prod (api.example.com) expires on 2026-06-07 18:30 UTC.\n\n"
            "Renew it before then: certctl renew crt_42"
        ),
        severity_tier="warning",
        occurred_at=OCCURRED_AT,
        incident_key="certctl-crt_42-v3-T7",
        certificate_id="crt_42",
        certificate_name="api-prod",
        common_name="api.example.com",
        sans=("api.example.com", "www.example.com"),
        environment="production",
        owner_name="Ada Lovelace",
        team_name="Platform",
        issuer_name="Local CA",
        expires_at=EXPIRES_AT,
        days_left=6,
        threshold_days=7,
        link="https://certctl.example.com/certificates/crt_42",
        recipients=("ada@example.com", "platform@example.com"),
    )


def probe_message() -> AlertMessage:
    """What `POST /notification-channels/{id}/test` sends: no certificate, no link."""
    return AlertMessage(
        notification_id="ntf_01J0TEST",
        kind=NotificationKind.TEST,
        channel="Slack",
        subject="certctl test notification",
        body="This is a test notification from certctl.",
        severity_tier="informational",
        occurred_at=OCCURRED_AT,
        incident_key="certctl-test-ntf_01J0TEST",
        recipients=("ada@example.com",),
    )


@pytest.fixture
def message() -> AlertMessage:
    """The fully populated expiration message."""
    return expiring_message()


@pytest.fixture
def test_message() -> AlertMessage:
    """The certificate-less test message."""
    return probe_message()


def rendered_text(rendered: Rendered) -> str:
    """A stable, readable text form of an HTTP rendering for snapshots."""
    document = {"body": rendered.body, "headers": rendered.headers}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def assert_snapshot(name: str, text: str) -> None:
    """Compare `text` byte for byte with snapshots/<name>; CERTCTL_UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / name
    if os.environ.get("CERTCTL_UPDATE_SNAPSHOTS") == "1":
        path.write_bytes(text.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"missing snapshot {name}; run with CERTCTL_UPDATE_SNAPSHOTS=1 to create it")
    assert text == path.read_bytes().decode("utf-8")


@dataclass
class Upstream:
    """A fake vendor endpoint for httpx.MockTransport: records requests, answers as told."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return httpx.Response(self.status, content=self.body, headers=self.headers)

    def answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Answer every later request this way."""
        self.status, self.body, self.headers = status, body, dict(headers or {})

    @property
    def sent(self) -> httpx.Request:
        """The only request received."""
        assert len(self.requests) == 1
        return self.requests[0]


@pytest.fixture
def upstream() -> Upstream:
    """An endpoint answering 200 `ok`."""
    return Upstream()


@pytest.fixture
async def http(upstream: Upstream) -> AsyncIterator[HttpxTransport]:
    """A transport whose every request goes to `upstream`."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as client:
        yield HttpxTransport(client)
