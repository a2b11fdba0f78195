"""Per-team and per-owner routing overrides: delivery to the team's own destination, and the
effective route that names them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.testing.keys import KEYS
from certctl.testing.receivers import RecordingReceiver

from .conftest import Receivers, make_cert

CRITICAL_SLACK_EMAIL = {
    "alert_thresholds_days": [0],
    "alert_channels": {"critical": ["Slack", "Email"], "warning": ["Slack"]},
}


@pytest.fixture
async def team_slack() -> AsyncIterator[RecordingReceiver]:
    """The Platform team's own Slack incoming webhook."""
    async with RecordingReceiver() as receiver:
        yield receiver


@pytest.fixture
async def api(actx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """An admin API client on the alert context."""
    transport = httpx.ASGITransport(app=create_app(actx))
    headers = {"Authorization": f"Bearer {KEYS['admin']}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://certctl.test", headers=headers
    ) as client:
        yield client


async def test_team_override_sends_to_the_team_webhook_not_the_matrix_channel(
    actx: AppContext, receivers: Receivers, team_slack: RecordingReceiver
) -> None:
    """A critical Slack alert of a Platform certificate goes to Platform's webhook only."""
    await make_cert(actx, policy=CRITICAL_SLACK_EMAIL)
    await actx.route_overrides.create(
        SYSTEM_CALLER,
        {
            "name": "platform slack",
            "channel": "Slack",
            "team_id": "t-plat",
            "tier": "critical",
            "config": {"webhook_url": team_slack.url},
        },
    )
    await actx.alerts.scan()
    summary = await actx.notifications.dispatch()
    assert (summary.sent, len(team_slack.requests), len(receivers.http["Slack"].requests)) == (
        2,
        1,
        0,
    )
    assert team_slack.requests[0].json()["text"].startswith("[EXPIRES TODAY] Certificate api-prod")
    assert len(receivers.smtp.envelopes) == 1


async def test_owner_email_override_replaces_the_recipients(
    actx: AppContext, receivers: Receivers
) -> None:
    """An owner's Email override sends to its list instead of the owner's address."""
    await make_cert(actx, policy=CRITICAL_SLACK_EMAIL)
    await actx.route_overrides.create(
        SYSTEM_CALLER,
        {
            "name": "alice pager mail",
            "channel": "Email",
            "owner_id": "o-alice",
            "config": {"recipients": ["pager@example.com", "lead@example.com"]},
        },
    )
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    assert [e.rcpt_tos for e in receivers.smtp.envelopes] == [
        ("pager@example.com", "lead@example.com")
    ]


async def test_effective_route_names_the_override(
    actx: AppContext, api: httpx.AsyncClient, team_slack: RecordingReceiver
) -> None:
    """GET /certificates/{id}/route: the critical Slack cell names the team override (masked),
    Email and the warning tier name their matrix cells."""
    cert_id = await make_cert(actx, policy=CRITICAL_SLACK_EMAIL)
    created = await api.post(
        "/api/v1/route-overrides",
        json={
            "name": "platform slack",
            "channel": "Slack",
            "team_id": "t-plat",
            "tier": "critical",
            "config": {"webhook_url": team_slack.url},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["config"] == {"webhook_url": "********"}
    route = (await api.get(f"/api/v1/certificates/{cert_id}/route")).json()
    tiers = {t["tier"]: t for t in route["tiers"]}
    assert tiers["critical"]["thresholds"] == [0]
    assert tiers["critical"]["channels"] == [
        {
            "channel": "Slack",
            "destination": "webhook_url=********",
            "decided_by": "override",
            "why": "override 'platform slack' of team t-plat (tier critical) replaces the Slack destination",
            "override_id": created.json()["id"],
        },
        {
            "channel": "Email",
            "destination": "alice@example.com",
            "decided_by": "matrix",
            "why": f"matrix cell critical → Email of policy {route['policy_id']}; owner's e-mail",
            "override_id": None,
        },
    ]
    [warning] = tiers["warning"]["channels"]
    assert (warning["decided_by"], warning["destination"]) == ("matrix", "webhook_url=********")
    assert tiers["informational"]["channels"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"team_id": "t-plat", "owner_id": "o-alice"}, "team_id"),
        ({"team_id": "t-none"}, "team_id"),
        ({"team_id": "t-plat", "config": {"routing_key": "x"}}, "config.routing_key"),
        ({"team_id": "t-plat", "tier": "urgent"}, "tier"),
    ],
)
async def test_bad_overrides_are_refused_naming_the_field(
    actx: AppContext, api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    """Two scopes, an unknown team, a field of another channel or an unknown tier is a 400."""
    await make_cert(actx)
    answer = await api.post(
        "/api/v1/route-overrides",
        json={"name": "o", "channel": "Slack", "config": {"webhook_url": "https://x"}, **body},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["field"] == field
