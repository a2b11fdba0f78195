"""Approving jobs, requeueing dead letters and editing the alert matrix in a real browser."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import LiveServer, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _job_awaiting_approval(server: LiveServer) -> dict[str, Any]:
    """A renewal of checkout-prod under an approval profile, requested by the admin key."""
    with server.api() as api:
        cert = api.get("/api/v1/certificates", params={"q": "checkout-prod"}).json()["data"][0]
        api.patch(
            f"/api/v1/certificates/{cert['id']}",
            json={"issuer_id": "iss-local", "certificate_profile_id": "cp-tls-approved"},
        ).raise_for_status()
        job: dict[str, Any] = api.post(f"/api/v1/certificates/{cert['id']}/renew").json()
    assert job["status"] == "AwaitingApproval"
    return job


def test_approve_a_job(page: Page, live_server: LiveServer) -> None:
    """Another admin approves the job on the Jobs page; the API shows it approved by them."""
    job = _job_awaiting_approval(live_server)
    sign_in_as(page, live_server, "dana")
    page.goto(f"{live_server.url}/jobs?status=AwaitingApproval")
    page.locator(f"tr[data-id='{job['id']}']").get_by_test_id("approve").click()
    expect(page.get_by_role("status")).to_have_text("The job is approved.")
    with live_server.api() as api:
        after = api.get(f"/api/v1/jobs/{job['id']}").json()
    assert (after["status"], after["approved_by"]) == ("Pending", "dana")


def test_requeue_a_dead_notification(page: Page, live_server: LiveServer) -> None:
    """Requeue on the Dead letter tab makes the API show the notification pending."""
    sign_in_as(page, live_server, "olly")
    page.goto(f"{live_server.url}/notifications")
    page.get_by_test_id("tab-dead").click()
    row = page.get_by_test_id("notifications").locator("tbody tr").first
    notification_id = row.get_attribute("data-id")
    expect(row.get_by_test_id("retry")).to_contain_text("attempt 1 of 5")
    row.get_by_test_id("requeue").click()
    expect(page.get_by_role("status")).to_have_text(
        "The notification is queued for delivery again."
    )
    with live_server.api() as api:
        after = api.get(f"/api/v1/notifications/{notification_id}").json()
    assert (after["status"], after["attempts"]) == ("pending", 0)


def test_edit_the_alert_matrix(page: Page, live_server: LiveServer) -> None:
    """A threshold and a channel added in the editor are what the API answers; Slack is flagged."""
    sign_in_as(page, live_server, "olly")
    page.goto(f"{live_server.url}/policies/rp-internal")
    editor = page.get_by_test_id("matrix-editor")
    editor.get_by_label("Threshold 3 (days)").fill("30")
    editor.get_by_label("Tier of threshold 3").select_option("informational")
    editor.get_by_label("Slack for informational").check()
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    row = page.get_by_test_id("effective-matrix").locator("tr[data-threshold='30']")
    expect(row.locator("td")).to_have_text(
        ["T-30", "informational", "Slack not configured: skipped"]
    )
    with live_server.api() as api:
        policy = api.get("/api/v1/renewal-policies/rp-internal").json()
    assert policy["alert_thresholds_days"] == [7, 0, 30]
    assert policy["alert_severity_map"] == {"7": "warning", "0": "critical", "30": "informational"}
    assert policy["alert_channels"] == {
        "informational": ["Slack"],
        "warning": ["Teams"],
        "critical": ["Email", "Teams"],
    }
