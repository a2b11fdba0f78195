"""Alert scenarios run the real services against one real receiver per channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from certctl.bootstrap import AppContext, build_context
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.certificates import CertificateStatus
from certctl.settings import Settings
from certctl.testing.keys import NAMED_KEYS
from certctl.testing.receivers import RecordingReceiver, SmtpReceiver

CHANNELS = ("Slack", "Teams", "PagerDuty", "OpsGenie", "Webhook")


@dataclass
class Receivers:
    """The HTTP receivers by channel name, and the SMTP server."""

    http: dict[str, RecordingReceiver]
    smtp: SmtpReceiver

    def counts(self) -> dict[str, int]:
        """Deliveries each channel actually received (Email = messages accepted by SMTP)."""
        counts = {name: len(rx.requests) for name, rx in self.http.items()}
        counts["Email"] = len(self.smtp.envelopes)
        return counts


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    """Five recording HTTP servers and one SMTP server on 127.0.0.1, port 0."""
    started: dict[str, RecordingReceiver] = {}
    smtp = SmtpReceiver()
    try:
        for name in CHANNELS:
            started[name] = await RecordingReceiver().__aenter__()
        await smtp.__aenter__()
        # The vendors' documented success answers: Events API v2 and OpsGenie both accept
        # with 202 and a JSON body; Slack, Teams and webhooks answer 200.
        started["PagerDuty"].respond_with(
            202, b'{"status":"success","message":"Event processed","dedup_key":"from-pagerduty"}'
        )
        started["OpsGenie"].respond_with(
            202, b'{"result":"Request will be processed","took":0.1,"requestId":"og-request-1"}'
        )
        yield Receivers(http=started, smtp=smtp)
    finally:
        await smtp.__aexit__(None, None, None)
        for rx in started.values():
            await rx.__aexit__(None, None, None)


def channel_settings(database_url: str, rx: Receivers, **extra: object) -> Settings:
    """Settings routing every channel to its receiver."""
    values: dict[str, object] = {
        "database_url": database_url,
        "api_keys_named": NAMED_KEYS,
        "config_encryption_key": "alert-tests-encryption-key",
        "allow_private_targets": True,
        "public_url": "https://certctl.example.com",
        "slack_webhook_url": rx.http["Slack"].url,
        "teams_webhook_url": rx.http["Teams"].url,
        "pagerduty_routing_key": "pd-routing-key",
        "pagerduty_events_url": rx.http["PagerDuty"].url,
        "opsgenie_api_key": "og-api-key",
        "opsgenie_api_url": rx.http["OpsGenie"].url,
        "webhook_url": rx.http["Webhook"].url,
        "webhook_secret": "webhook-secret",
        "smtp_host": rx.smtp.host,
        "smtp_port": rx.smtp.port,
        "smtp_from_address": "certctl@example.com",
        "smtp_security": "none",
        "scheduler_enabled": False,
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def actx(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> AsyncIterator[AppContext]:
    """A context whose six channels all point at the receivers."""
    context = build_context(channel_settings(database_url, receivers), clock=clock)
    yield context
    await context.aclose()


async def make_cert(
    ctx: AppContext,
    *,
    days: float = 0.5,
    policy: dict[str, object] | None = None,
    name: str = "api-prod",
) -> str:
    """A certificate owned by alice@example.com expiring `days` from now, under `policy`."""
    if not await _exists(ctx):
        await ctx.teams.create(SYSTEM_CALLER, {"id": "t-plat", "name": "Platform"})
        await ctx.owners.create(
            SYSTEM_CALLER,
            {"id": "o-alice", "name": "Alice", "email": "alice@example.com", "team_id": "t-plat"},
        )
    fields: dict[str, object] = {
        "id": f"mc-{name}",
        "name": name,
        "common_name": f"{name}.example.com",
        "sans": [f"{name}.example.com"],
        "status": CertificateStatus.ACTIVE,
        "expires_at": ctx.clock.now() + timedelta(days=days),
        "owner_id": "o-alice",
        "team_id": "t-plat",
        "environment": "production",
    }
    if policy is not None:
        created = await ctx.policies.create(SYSTEM_CALLER, {"name": f"policy-{name}", **policy})
        fields["renewal_policy_id"] = created.id
    cert = await ctx.certificates.create(SYSTEM_CALLER, fields)
    return cert.id


async def _exists(ctx: AppContext) -> bool:
    from certctl.errors import NotFound

    try:
        await ctx.teams.get(SYSTEM_CALLER, "t-plat")
    except NotFound:
        return False
    return True
