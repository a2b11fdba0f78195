"""The notifications, notification-channels and admin-loop routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest

from certctl.api.app import create_app
from certctl.bootstrap import AppContext, build_context
from certctl.clock import FrozenClock
from certctl.testing.keys import KEYS

from .conftest import Receivers, channel_settings, make_cert


@pytest.fixture
async def client_for(actx: AppContext) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """API clients on the alerting context, by role."""
    app = create_app(actx)
    clients: list[httpx.AsyncClient] = []

    def make(role: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://certctl.test",
            headers={"Authorization": f"Bearer {KEYS[role]}"},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_run_loop_returns_the_scan_summary(
    actx: AppContext, client_for: Callable[[str], httpx.AsyncClient]
) -> None:
    """POST /admin/loops/renewal/run scans now and answers what it did."""
    await make_cert(actx, policy={})
    response = await client_for("admin").post("/api/v1/admin/loops/renewal/run")
    assert response.status_code == 200
    assert response.json() == {
        "loop": "renewal",
        "certificates_scanned": 1,
        "alerts_enqueued": 4,
        "deduped": 0,
        "skipped_no_channels": 0,
        "alerts_opened": 4,
        "invalid_channels": 0,
        "status_changes": 1,
        "renewals": {
            "candidates": 0,
            "created": 0,
            "already_open": 0,
            "awaiting_approval": 0,
            "not_due": 0,
            "declined": 0,
            "ari_checked": 0,
            "ari_failed": 0,
            "ari_due": 0,
        },
    }
    loops = {
        loop["name"]: loop for loop in (await client_for("admin").get("/api/v1/admin/loops")).json()
    }
    assert set(loops) == {
        "renewal",
        "notification_dispatch",
        "notification_retry",
        "alert_escalation",
        "owner_digests",
        "crl",
        "job_processor",
        "job_timeouts",
        "agent_health",
        "status_counts",
        "audit_verify",
        "discovery_scans",
        "drift",
    }
    assert (loops["renewal"]["runs"], loops["renewal"]["last_outcome"]) == (1, "success")
    assert loops["notification_retry"]["interval_seconds"] == 120


@pytest.mark.parametrize("role", ["operator", "viewer"])
async def test_loops_are_admin_only(
    client_for: Callable[[str], httpx.AsyncClient], role: str
) -> None:
    """Only admins list or run loops."""
    assert (await client_for(role).get("/api/v1/admin/loops")).status_code == 403


async def test_unknown_loop_is_404(client_for: Callable[[str], httpx.AsyncClient]) -> None:
    """Running a loop that does not exist names it."""
    response = await client_for("admin").post("/api/v1/admin/loops/nope/run")
    assert response.status_code == 404


async def test_dead_letter_list_and_requeue_through_the_api(
    actx: AppContext, receivers: Receivers, client_for: Callable[[str], httpx.AsyncClient]
) -> None:
    """A dead row is listed under status=dead, requeued (audited) and then delivered."""
    receivers.http["Slack"].fail_next(5, status=500)
    await make_cert(
        actx, policy={"alert_thresholds_days": [0], "alert_channels": {"critical": ["Slack"]}}
    )
    api = client_for("operator")
    await client_for("admin").post("/api/v1/admin/loops/renewal/run")
    await client_for("admin").post("/api/v1/admin/loops/notification_dispatch/run")
    for _ in range(4):
        actx.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        await client_for("admin").post("/api/v1/admin/loops/notification_retry/run")
    dead = (await api.get("/api/v1/notifications?status=dead")).json()
    assert dead["total"] == 1
    row = dead["data"][0]
    assert (row["attempts"], row["max_attempts"], row["channel"]) == (5, 5, "Slack")
    assert row["last_error"].startswith("Slack answered 500")
    requeued = await api.post(f"/api/v1/notifications/{row['id']}/requeue")
    assert requeued.json()["status"] == "pending"
    await client_for("admin").post("/api/v1/admin/loops/notification_dispatch/run")
    assert (await api.get(f"/api/v1/notifications/{row['id']}")).json()["status"] == "sent"
    audit = (await api.get("/api/v1/audit?action=notification_requeued")).json()["data"]
    assert [(a["actor"], a["details"]["previous_status"]) for a in audit] == [
        ("operator-user", "dead")
    ]
    assert (await api.get("/api/v1/stats/summary")).json()["notifications_dead"] == 0


async def test_unknown_status_filter_is_400(client_for: Callable[[str], httpx.AsyncClient]) -> None:
    """status must be one of the outbox statuses."""
    response = await client_for("viewer").get("/api/v1/notifications?status=lost")
    assert (response.status_code, response.json()["field"]) == (400, "status")


async def test_db_channel_masks_secrets_and_sends_a_test(
    receivers: Receivers, client_for: Callable[[str], httpx.AsyncClient]
) -> None:
    """A Slack channel stored through the API hides its webhook URL and can send a test."""
    api = client_for("admin")
    created = await api.post(
        "/api/v1/notification-channels",
        json={
            "name": "ops-slack",
            "channel": "Slack",
            "config": {"webhook_url": receivers.http["Slack"].url},
        },
    )
    assert created.status_code == 201
    assert created.json()["config"]["webhook_url"] == "********"
    tested = await api.post(f"/api/v1/notification-channels/{created.json()['id']}/test")
    assert tested.status_code == 200
    assert (tested.json()["status"], tested.json()["kind"]) == ("sent", "test")
    assert len(receivers.http["Slack"].requests) == 1


async def test_db_channel_with_bad_config_is_400(
    client_for: Callable[[str], httpx.AsyncClient],
) -> None:
    """The channel's config is validated against its notifier's schema."""
    response = await client_for("admin").post(
        "/api/v1/notification-channels",
        json={"name": "x", "channel": "Slack", "config": {"colour": "red"}},
    )
    assert response.status_code == 400
    assert response.json()["field"].startswith("config.")


async def test_db_channel_with_unknown_type_is_400(
    client_for: Callable[[str], httpx.AsyncClient],
) -> None:
    """Only the six channel types exist."""
    response = await client_for("admin").post(
        "/api/v1/notification-channels", json={"name": "x", "channel": "Pager", "config": {}}
    )
    assert (response.status_code, response.json()["field"]) == (400, "channel")


async def test_failed_channel_test_is_not_retried_later(
    receivers: Receivers, client_for: Callable[[str], httpx.AsyncClient]
) -> None:
    """A test send that fails is final (dead), so no later retry goes out elsewhere."""
    receivers.http["Teams"].fail_next(1, status=503)
    api = client_for("admin")
    created = await api.post(
        "/api/v1/notification-channels",
        json={
            "name": "ops-teams",
            "channel": "Teams",
            "config": {"webhook_url": receivers.http["Teams"].url},
        },
    )
    tested = (await api.post(f"/api/v1/notification-channels/{created.json()['id']}/test")).json()
    assert (tested["status"], tested["next_retry_at"]) == ("dead", None)
    assert tested["last_error"].startswith("Teams answered 503")


async def test_environment_channel_test_sends_through_the_variables(
    receivers: Receivers, client_for: Callable[[str], httpx.AsyncClient]
) -> None:
    """POST …/environment/PagerDuty/test delivers one event to the configured receiver."""
    response = await client_for("operator").post(
        "/api/v1/notification-channels/environment/PagerDuty/test"
    )
    assert (response.status_code, response.json()["status"]) == (200, "sent")
    [event] = receivers.http["PagerDuty"].requests
    assert event.json()["routing_key"] == "pd-routing-key"
    assert event.json()["payload"]["summary"] == (
        "certctl test notification for channel PagerDuty (environment)"
    )


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("operator", 400)])
async def test_environment_channel_test_needs_write_and_a_configured_channel(
    client_for: Callable[[str], httpx.AsyncClient], role: str, status: int
) -> None:
    """Viewers may not send; an unknown channel type is a 400 naming `channel`."""
    response = await client_for(role).post("/api/v1/notification-channels/environment/Pager/test")
    assert response.status_code == status


async def test_channel_test_to_a_private_smtp_relay_is_refused(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> None:
    """Without CERTCTL_ALLOW_PRIVATE_TARGETS an operator's Email channel test never dials a
    loopback relay: the send is dead with the guard's reason and the relay sees nothing."""
    settings = channel_settings(database_url, receivers, allow_private_targets=False)
    context = build_context(settings, clock=clock)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(context)),
            base_url="http://certctl.test",
            headers={"Authorization": f"Bearer {KEYS['operator']}"},
        ) as operator:
            created = await operator.post(
                "/api/v1/notification-channels",
                json={
                    "name": "internal-relay",
                    "channel": "Email",
                    "config": {
                        "host": receivers.smtp.host,
                        "port": receivers.smtp.port,
                        "from_address": "certctl@example.com",
                        "security": "none",
                    },
                },
            )
            assert created.status_code == 201, created.text
            tested = await operator.post(
                f"/api/v1/notification-channels/{created.json()['id']}/test",
                json={"recipient": "ops@example.com"},
            )
    finally:
        await context.aclose()
    assert (tested.status_code, tested.json()["status"]) == (200, "dead")
    assert tested.json()["last_error"] == (
        "Email relay refused: host must not point to a loopback address: 127.0.0.1"
    )
    assert receivers.smtp.envelopes == []


async def test_url_credentials_are_masked_for_every_role_and_in_the_audit_trail(
    receivers: Receivers, client_for: Callable[[str], httpx.AsyncClient], actx: AppContext
) -> None:
    """A password in a webhook URL's user part is never answered or audited; delivery uses it."""
    url = receivers.http["Webhook"].url.replace("http://", "http://bob:pw-s3cret@")
    masked = receivers.http["Webhook"].url.replace("http://", "http://********@")
    created = await client_for("operator").post(
        "/api/v1/notification-channels",
        json={"name": "hook", "channel": "Webhook", "config": {"url": url}},
    )
    assert (created.status_code, created.json()["config"]["url"]) == (201, masked)
    for role in ("admin", "operator", "viewer"):
        shown = await client_for(role).get(f"/api/v1/notification-channels/{created.json()['id']}")
        assert shown.json()["config"]["url"] == masked
    tested = await client_for("admin").post(
        f"/api/v1/notification-channels/{created.json()['id']}/test"
    )
    assert tested.json()["status"] == "sent"
    assert receivers.http["Webhook"].requests[0].headers["authorization"] == (
        "Basic Ym9iOnB3LXMzY3JldA=="
    )
    trail = (await client_for("auditor").get("/api/v1/audit?per_page=100")).text
    assert "pw-s3cret" not in trail
    assert "bob:" not in trail
