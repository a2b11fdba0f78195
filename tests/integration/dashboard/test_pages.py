"""Dashboard pages and actions over httpx: what each shows and what each form changes."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.certificates import CertificateStatus
from certctl.domain.jobs import Job, JobFilter, JobStatus
from certctl.domain.listing import PageRequest, SortKey
from certctl.domain.notifications import NotificationStatus
from certctl.domain.renewal_info import RenewalInfoState, SuggestedWindow
from certctl.services.secrets import open_secrets

from .conftest import Estate, SignedIn, make_user

PAGES = (
    "/",
    "/certificates",
    "/certificates?status=Expiring&sort=-name&include_archived=true",
    "/certificates/{cert}",
    "/jobs",
    "/jobs?status=AwaitingApproval&type=Renewal",
    "/notifications",
    "/notifications?tab=dead",
    "/policies",
    "/policies/new",
    "/policies/rp-web",
    "/teams",
    "/issuers",
    "/issuers/iss-local",
    "/issuers/new?type=ACME",
    "/targets",
    "/agents",
    "/discovery",
    "/discovery?status=Claimed&q=web",
    "/audit",
    "/audit?since=2026-01-01&until=2026-12-31&status=success",
    "/settings/channels",
)


async def test_every_page_answers_200(estate: Estate, signed_in: SignedIn) -> None:
    """Each dashboard page renders for an admin."""
    cert = await estate.certificate("web", 20)
    browser = await signed_in("admin")
    statuses = {p: (await browser.get(p.format(cert=cert.id))).status_code for p in PAGES}
    assert statuses == dict.fromkeys(PAGES, 200)


async def test_pages_forbid_inline_script_and_style(estate: Estate, signed_in: SignedIn) -> None:
    """No page carries inline script, style elements or style attributes (CSP default-src)."""
    cert = await estate.certificate("web", 20)
    browser = await signed_in("admin")
    offending = []
    for path in PAGES:
        html = (await browser.get(path.format(cert=cert.id))).text
        if re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", html):
            offending.append(path)
    assert offending == []


async def test_cards_show_the_summary_counts(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The cards show the stats summary: total, expiring, expired, revoked, dead, approvals."""
    await estate.certificate("soon", 10)
    await estate.certificate("gone", -2)
    revoked = await estate.certificate("bad", 50)
    await ctx.certificates.revoke(SYSTEM_CALLER, revoked.id, reason="keyCompromise")
    html = (await (await signed_in("viewer")).get("/")).text
    cards = dict(re.findall(r'data-testid="card-(\w+)">\s*<span class="value">(\d+)<', html))
    assert cards == {
        "total": "3",
        "expiring": "1",
        "expired": "1",
        "revoked": "1",
        "dead": "0",
        "approval": "0",
    }


async def test_timeline_counts_certificates_per_week(estate: Estate, signed_in: SignedIn) -> None:
    """The SVG timeline labels each week with the certificates expiring in it."""
    for name, days in (("a", 2), ("b", 3), ("c", 40), ("d", 120)):
        await estate.certificate(name, days)
    html = (await (await signed_in("viewer")).get("/")).text
    titles = re.findall(r"<title>(\d+) expiring", html)
    assert [int(t) for t in titles] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]


async def test_certificates_filter_by_status(estate: Estate, signed_in: SignedIn) -> None:
    """Filtering by status lists only the certificates in that status."""
    await estate.certificate("active-one", 80)
    await estate.certificate("expiring-one", 10)
    await estate.certificate("expiring-two", 12)
    html = (await (await signed_in("viewer")).get("/certificates", status="Expiring")).text
    names = re.findall(r'<a href="/certificates/mc-[^"]+">([^<]+)</a>', html)
    assert names == ["expiring-one", "expiring-two"]


async def test_revoke_form_revokes_as_the_signed_in_user(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The detail page's revoke form revokes with the reason; the audit names the key."""
    cert = await estate.certificate("web", 60)
    browser = await signed_in("operator")
    answer = await browser.post(f"/certificates/{cert.id}/revoke", {"reason": "keyCompromise"})
    after = await ctx.certificates.get(SYSTEM_CALLER, cert.id)
    trail = await ctx.audit.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=1),
        filters=AuditFilter(action="certificate_revoked"),
    )
    assert answer.headers["location"] == f"/certificates/{cert.id}?flash=revoked"
    assert (after.status, after.revocation_reason) == (CertificateStatus.REVOKED, "keyCompromise")
    assert trail.items[0].actor == "operator-user"


async def test_pem_download_is_the_version_chain(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The PEM link downloads the newest version's chain as an attachment."""
    cert = await estate.certificate("web", 60)
    version = (await ctx.certificates.versions(SYSTEM_CALLER, cert.id))[0]
    answer = await (await signed_in("viewer")).get(
        f"/certificates/{cert.id}/versions/{version.id}/pem"
    )
    assert answer.text == version.pem_chain
    assert answer.headers["content-disposition"] == 'attachment; filename="web.pem"'


async def test_renew_button_queues_a_job(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Renew now queues a renewal job requested by the signed-in key."""
    cert = await estate.certificate("web", 20)
    answer = await (await signed_in("operator")).post(f"/certificates/{cert.id}/renew", {})
    jobs = await _jobs(ctx, JobFilter(certificate_id=cert.id))
    assert answer.headers["location"] == f"/certificates/{cert.id}?flash=renewal_requested"
    assert [(j.status, j.requested_by) for j in jobs] == [(JobStatus.PENDING, "operator-user")]


async def test_deploy_button_queues_a_deployment_per_target(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Deploy now shows on a mapped certificate and queues one Pending Deployment job."""
    target = await ctx.targets.create(
        SYSTEM_CALLER, {"id": "tg-web", "name": "web nginx", "type": "NGINX"}
    )
    cert = await estate.certificate("web", 60, target_ids=[target.id])
    browser = await signed_in("operator")
    page = await browser.get(f"/certificates/{cert.id}")
    assert 'data-testid="deploy"' in page.text
    answer = await browser.post(f"/certificates/{cert.id}/deploy", {})
    jobs = await _jobs(ctx, JobFilter(certificate_id=cert.id))
    assert answer.headers["location"] == f"/certificates/{cert.id}?flash=deployment_requested"
    assert [(j.type.value, j.status, j.target_id) for j in jobs] == [
        ("Deployment", JobStatus.PENDING, "tg-web")
    ]


async def test_bulk_renew_reports_what_happened(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Bulk renew queues the ticked certificates and skips one that already has a job."""
    first = await estate.certificate("one", 20)
    second = await estate.certificate("two", 20)
    await ctx.jobs.request_renewal(SYSTEM_CALLER, second.id)
    answer = await (await signed_in("operator")).post(
        "/certificates/bulk", {"action": "renew", "certificate_ids": [first.id, second.id]}
    )
    numbers = re.findall(
        r'<span class="value">(\d+)</span><span class="label">([^<]+)<', answer.text
    )
    assert numbers == [
        ("2", "selected"),
        ("1", "renewals queued"),
        ("1", "skipped"),
        ("0", "failed"),
    ]


async def test_approve_moves_the_job_on_as_the_approver(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """An admin user approves a job awaiting approval; the job records who approved."""
    cert = await estate.certificate("web", 20, certificate_profile_id="cp-approve")
    job = await ctx.jobs.request_renewal(SYSTEM_CALLER, cert.id)
    await make_user(ctx, "dana")
    browser = await signed_in("admin")
    answer = await browser.post(f"/jobs/{job.id}/approve", {"next": "/jobs"})
    after = await ctx.jobs.get(SYSTEM_CALLER, job.id)
    assert answer.headers["location"] == "/jobs?flash=approved"
    assert (after.status, after.approved_by) == (JobStatus.PENDING, "admin-user")


async def test_the_requester_cannot_approve(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Approving one's own request is refused with the 403 page."""
    cert = await estate.certificate("web", 20, certificate_profile_id="cp-approve")
    browser = await signed_in("operator")
    await browser.post(f"/certificates/{cert.id}/renew", {})
    job = (await _jobs(ctx, JobFilter(certificate_id=cert.id)))[0]
    answer = await browser.post(f"/jobs/{job.id}/approve", {})
    assert answer.status_code == 403
    assert (await ctx.jobs.get(SYSTEM_CALLER, job.id)).status is JobStatus.AWAITING_APPROVAL


async def test_reject_needs_a_reason(ctx: AppContext, estate: Estate, signed_in: SignedIn) -> None:
    """Rejecting without a reason is refused; with one, the job ends Cancelled."""
    cert = await estate.certificate("web", 20, certificate_profile_id="cp-approve")
    job = await ctx.jobs.request_renewal(SYSTEM_CALLER, cert.id)
    browser = await signed_in("admin")
    refused = await browser.post(f"/jobs/{job.id}/reject", {"reason": ""})
    done = await browser.post(f"/jobs/{job.id}/reject", {"reason": "not this quarter"})
    after = await ctx.jobs.get(SYSTEM_CALLER, job.id)
    assert (refused.status_code, done.status_code) == (400, 303)
    assert (after.status, after.decision_reason) == (JobStatus.CANCELLED, "not this quarter")


async def test_cancel_ends_an_open_job(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Cancel ends a pending job."""
    cert = await estate.certificate("web", 20)
    job = await ctx.jobs.request_renewal(SYSTEM_CALLER, cert.id)
    answer = await (await signed_in("operator")).post(f"/jobs/{job.id}/cancel", {})
    assert answer.headers["location"] == "/jobs?flash=cancelled"
    assert (await ctx.jobs.get(SYSTEM_CALLER, job.id)).status is JobStatus.CANCELLED


async def test_requeue_makes_a_dead_notification_pending(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Requeue on the dead-letter tab sends the row back to pending at attempt 0."""
    channel = await ctx.channels.create(
        SYSTEM_CALLER,
        {"name": "hook", "channel": "Webhook", "config": {"url": "https://192.0.2.10/x"}},
    )
    dead = await ctx.notifications.send_test(SYSTEM_CALLER, channel.id, None)
    browser = await signed_in("operator")
    listed = await browser.get("/notifications", tab="dead")
    answer = await browser.post(f"/notifications/{dead.id}/requeue", {"tab": "dead"})
    after = await ctx.notifications.get(SYSTEM_CALLER, dead.id)
    assert dead.status is NotificationStatus.DEAD
    assert "attempt 1 of 5" in listed.text
    assert answer.headers["location"] == f"/notifications?tab=dead&flash=requeued&watch={dead.id}"
    assert (after.status, after.attempts) == (NotificationStatus.PENDING, 0)


async def test_dead_letter_tab_shows_the_whole_last_error(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The last error is shown whole in the row, without anything to expand."""
    channel = await ctx.channels.create(
        SYSTEM_CALLER,
        {"name": "hook", "channel": "Webhook", "config": {"url": "https://192.0.2.10/x"}},
    )
    dead = await ctx.notifications.send_test(SYSTEM_CALLER, channel.id, None)
    html = (await (await signed_in("viewer")).get("/notifications", tab="dead")).text
    assert dead.last_error is not None
    assert f'<span class="cause" data-testid="cause">{dead.last_error}</span>' in html
    assert "<details" not in html


async def test_policy_matrix_editor_saves_the_matrix(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Thresholds, tiers and ticked channels are stored as the policy's matrix."""
    answer = await (await signed_in("operator")).post(
        "/policies/rp-web",
        {
            **_policy_form(),
            "threshold": ["21", "3", ""],
            "tier": ["warning", "critical", ""],
            "matrix_mode": "custom",
            "channels.warning": ["Slack"],
            "channels.critical": ["PagerDuty", "Email"],
        },
    )
    policy = await ctx.policies.get(SYSTEM_CALLER, "rp-web")
    assert answer.headers["location"] == "/policies/rp-web?flash=saved"
    assert policy.alert_thresholds_days == (21, 3)
    assert dict(policy.alert_severity_map) == {21: "warning", 3: "critical"}
    assert dict(policy.alert_channels) == {
        "informational": (),
        "warning": ("Slack",),
        "critical": ("Email", "PagerDuty"),
    }


async def test_policy_default_matrix_is_stored_empty(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Choosing the default matrix stores none, which means Email at every tier."""
    await ctx.policies.update(SYSTEM_CALLER, "rp-web", {"alert_channels": {"critical": ["Slack"]}})
    await (await signed_in("operator")).post(
        "/policies/rp-web",
        {**_policy_form(), "threshold": ["30", "0"], "tier": ["", ""], "matrix_mode": "default"},
    )
    policy = await ctx.policies.get(SYSTEM_CALLER, "rp-web")
    assert dict(policy.alert_channels) == {}
    assert dict(policy.alert_severity_map) == {30: "informational", 0: "critical"}


async def test_policy_form_errors_are_shown_and_nothing_is_saved(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """An out-of-range threshold is named next to its row and the policy is unchanged."""
    answer = await (await signed_in("operator")).post(
        "/policies/rp-web",
        {**_policy_form(), "threshold": ["400"], "tier": ["critical"], "matrix_mode": "default"},
    )
    policy = await ctx.policies.get(SYSTEM_CALLER, "rp-web")
    assert answer.status_code == 400
    assert "must be between 0 and 365, got 400" in answer.text
    assert policy.alert_thresholds_days == (30, 14, 7, 0)


async def test_new_policy_is_created_from_the_form(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The new-policy form creates a policy and goes to its page."""
    answer = await (await signed_in("operator")).post(
        "/policies",
        {
            **_policy_form(name="Quiet"),
            "threshold": ["7"],
            "tier": ["warning"],
            "matrix_mode": "custom",
            "channels.warning": ["Teams"],
        },
    )
    created = await ctx.policies.search(
        SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"), q="Quiet"
    )
    policy = created.items[0]
    assert answer.headers["location"] == f"/policies/{policy.id}?flash=created"
    assert (policy.alert_thresholds_days, dict(policy.alert_channels)["warning"]) == (
        (7,),
        ("Teams",),
    )


async def test_issuer_secret_left_masked_is_kept(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Saving an issuer with its secret still ******** keeps the sealed value."""
    issuer = await ctx.issuers.create(
        SYSTEM_CALLER,
        {
            "name": "ACME",
            "type": "ACME",
            "enabled": False,
            "config": {
                "directory_url": "https://acme.invalid/dir",
                "terms_agreed": True,
                "eab_hmac_key": "s3cret",
            },
        },
    )
    browser = await signed_in("operator")
    page = await browser.get(f"/issuers/{issuer.id}")
    answer = await browser.post(
        f"/issuers/{issuer.id}",
        {
            "name": "ACME",
            "config.directory_url": "https://acme.invalid/v2",
            "config.terms_agreed": "true",
            "config.eab_hmac_key": "********",
        },
    )
    after = await ctx.issuers.get(SYSTEM_CALLER, issuer.id)
    assert 'name="config.eab_hmac_key" value="********" type="password"' in page.text
    assert answer.status_code == 303
    assert dict(after.config) == {
        "directory_url": "https://acme.invalid/v2",
        "terms_agreed": "true",
        "eab_hmac_key": "********",
    }
    assert open_secrets(after.sealed_secrets, ctx.runtime.sealer) == {"eab_hmac_key": "s3cret"}


async def test_teams_and_owners_are_added_from_their_forms(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The team and owner forms create both, the owner in the new team."""
    browser = await signed_in("operator")
    await browser.post("/teams", {"name": "Data", "description": "Warehouse"})
    teams = await ctx.teams.search(
        SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"), q="Data"
    )
    team = teams.items[0]
    await browser.post(
        "/owners", {"owner_name": "Dee", "email": "dee@example.com", "team_id": team.id}
    )
    owners = await ctx.owners.search(
        SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"), q="Dee"
    )
    assert [(o.email, o.team_id) for o in owners.items] == [("dee@example.com", team.id)]


async def test_audit_export_csv_follows_the_filters(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The CSV export holds exactly the filtered events, with a header row."""
    await estate.certificate("one", 20)
    await estate.certificate("two", 20)
    answer = await (await signed_in("auditor")).get(
        "/audit/export", action="certificate_imported", format="csv"
    )
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert answer.headers["content-type"].startswith("text/csv")
    assert [r["action"] for r in rows] == ["certificate_imported", "certificate_imported"]
    assert {json.loads(r["details"])["name"] for r in rows} == {"one", "two"}


async def test_audit_export_json_is_a_list_of_events(estate: Estate, signed_in: SignedIn) -> None:
    """The JSON export is one array of event objects."""
    await estate.certificate("one", 20)
    answer = await (await signed_in("auditor")).get(
        "/audit/export", action="certificate_imported", format="json"
    )
    events = json.loads(answer.text)
    assert [(e["action"], e["actor"]) for e in events] == [("certificate_imported", "system")]


async def test_channel_test_send_shows_its_outcome(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """A test send redirects back to the settings page, which shows the refused webhook's failure."""
    channel = await ctx.channels.create(
        SYSTEM_CALLER,
        {"name": "hook", "channel": "Webhook", "config": {"url": "https://192.0.2.10/x"}},
    )
    browser = await signed_in("operator")
    answer = await browser.post(f"/settings/channels/{channel.id}/test", {})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/settings/channels?tested=ne-")
    shown = await browser.get(answer.headers["location"])
    assert re.search(r'data-testid="test-result">\s*Test through Webhook: dead', shown.text)


def _policy_form(name: str = "Web policy") -> dict[str, str]:
    return {
        "name": name,
        "description": "",
        "renewal_window_days": "30",
        "auto_renew": "1",
        "max_retries": "3",
        "retry_interval_seconds": "3600",
        "certificate_profile_id": "",
        "agent_group_id": "",
    }


async def _jobs(ctx: AppContext, filters: JobFilter) -> list[Job]:
    page = await ctx.jobs.search(
        SYSTEM_CALLER, request=PageRequest(), filters=filters, sort=SortKey("created_at")
    )
    return list(page.items)


async def test_the_certificate_page_shows_the_acme_renewal_window(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The detail page shows the CA's suggested window, the chosen moment and a failed check."""
    cert = await estate.certificate("web", 60)
    now = ctx.runtime.clock.now()
    window = SuggestedWindow(now + timedelta(days=10), now + timedelta(days=12), "https://ca/why")
    state = RenewalInfoState(
        cert.id, "a.b", now, now + timedelta(hours=6), window, now + timedelta(days=11)
    )
    async with ctx.runtime.db.uow() as uow:
        await uow.renewal_info.save(state)
    html = (await (await signed_in("viewer")).get(f"/certificates/{cert.id}")).text
    assert re.search(
        r'data-testid="ari-window">2026-06-11 12:00 UTC to 2026-06-13 12:00 UTC · '
        r'<a href="https://ca/why"',
        html,
    )
    assert 'data-testid="ari-renew-at">2026-06-12 12:00 UTC <span class="muted">' in html
    assert 'data-testid="ari-error"' not in html
    failed = RenewalInfoState(
        cert.id, "a.b", now, now + timedelta(hours=1), last_error="renewalInfo answered HTTP 500"
    )
    async with ctx.runtime.db.uow() as uow:
        await uow.renewal_info.save(failed)
    html = (await (await signed_in("viewer")).get(f"/certificates/{cert.id}")).text
    assert 'data-testid="ari-error">renewalInfo answered HTTP 500 <span' in html
    assert 'data-testid="ari-window">—</dd>' in html
