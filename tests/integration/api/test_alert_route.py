"""GET /certificates/{id}/alert-route: who each threshold alerts and which cells are skipped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from certctl.clock import FrozenClock
from certctl.settings import Settings
from certctl.testing.keys import NAMED_KEYS

MATRIX = {"informational": [], "warning": ["Email"], "critical": ["Email", "PagerDuty", "Slack"]}


@pytest.fixture
def settings(database_url: str) -> Settings:
    """PagerDuty and SMTP set by the environment; Slack nowhere; one extra Email recipient."""
    return Settings(
        database_url=database_url,
        api_keys_named=NAMED_KEYS,  # type: ignore[arg-type]
        config_encryption_key="test-encryption-key-0123456789",  # type: ignore[arg-type]
        pagerduty_routing_key="rk-0123456789abcdef",  # type: ignore[arg-type]
        smtp_host="mail.example.com",
        smtp_from_address="certctl@example.com",
        smtp_extra_recipients="oncall@example.com",
    )


async def _certificate(
    api: httpx.AsyncClient, clock: FrozenClock, *, owner: bool = True
) -> dict[str, Any]:
    policy = (
        await api.post(
            "/api/v1/renewal-policies",
            json={
                "name": "Paging",
                "alert_thresholds_days": [14, 0],
                "alert_severity_map": {"14": "warning", "0": "critical"},
                "alert_channels": MATRIX,
            },
        )
    ).json()
    team = (await api.post("/api/v1/teams", json={"name": "Payments"})).json()
    body: dict[str, Any] = {
        "name": "pay",
        "common_name": "pay.example.com",
        "status": "Active",
        "expires_at": (clock.now() + timedelta(days=40)).isoformat(),
        "renewal_policy_id": policy["id"],
        "team_id": team["id"],
    }
    if owner:
        ada = {"name": "Ada", "email": "ada@example.com", "team_id": team["id"]}
        body["owner_id"] = (await api.post("/api/v1/owners", json=ada)).json()["id"]
    response = await api.post("/api/v1/certificates", json=body)
    assert response.status_code == 201, response.text
    cert: dict[str, Any] = response.json()
    return cert


async def test_route_names_each_threshold_channel_and_recipient(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """Email reaches owner and extra recipient, PagerDuty is from the environment, Slack skipped."""
    cert = await _certificate(api, clock)
    response = await api.get(f"/api/v1/certificates/{cert['id']}/alert-route")
    assert response.status_code == 200
    route = response.json()
    assert (route["policy_name"], route["owner_email"], route["team_name"]) == (
        "Paging",
        "ada@example.com",
        "Payments",
    )
    email = {
        "channel": "Email",
        "recipient": "ada@example.com, oncall@example.com",
        "configured": True,
        "source": "environment",
        "skipped_because": "",
    }
    assert route["thresholds"] == [
        {"threshold_days": 14, "tier": "warning", "channels": [email]},
        {
            "threshold_days": 0,
            "tier": "critical",
            "channels": [
                email,
                {
                    "channel": "PagerDuty",
                    "recipient": "PagerDuty (environment)",
                    "configured": True,
                    "source": "environment",
                    "skipped_because": "",
                },
                {
                    "channel": "Slack",
                    "recipient": "",
                    "configured": False,
                    "source": "",
                    "skipped_because": "channel Slack is not configured",
                },
            ],
        },
    ]


async def test_a_database_channel_overrides_the_environment(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """A stored Slack channel makes Slack configured from the database, named as recipient."""
    cert = await _certificate(api, clock)
    stored = await api.post(
        "/api/v1/notification-channels",
        json={
            "name": "ops-slack",
            "channel": "Slack",
            "config": {
                "webhook_url": "https://hooks.slack.com/services/T0/B0/x",
                "channel": "#ops",
            },
        },
    )
    assert stored.status_code == 201, stored.text
    route = (await api.get(f"/api/v1/certificates/{cert['id']}/alert-route")).json()
    slack = route["thresholds"][1]["channels"][2]
    assert slack == {
        "channel": "Slack",
        "recipient": "ops-slack: #ops",
        "configured": True,
        "source": "database",
        "skipped_because": "",
    }


async def test_email_without_an_owner_reaches_only_the_extra_recipients(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """With no owner the Email cells go to the configured extra recipients alone."""
    cert = await _certificate(api, clock, owner=False)
    route = (await api.get(f"/api/v1/certificates/{cert['id']}/alert-route")).json()
    assert route["owner_email"] == ""
    assert route["thresholds"][0]["channels"][0]["recipient"] == "oncall@example.com"


async def test_route_of_an_unknown_certificate_is_404(api: httpx.AsyncClient) -> None:
    """An unknown id answers 404 problem+json."""
    response = await api.get("/api/v1/certificates/mc-missing/alert-route")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_route_needs_a_key(make_client: Any) -> None:
    """Without a key the route is refused with 401."""
    response = await make_client(None).get("/api/v1/certificates/mc-any/alert-route")
    assert response.status_code == 401
