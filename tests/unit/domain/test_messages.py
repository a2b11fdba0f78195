"""The words of every alert and notice, from one renderer per kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from certctl.domain.messages import (
    CertificateFacts,
    days_phrase,
    deployment_failed_text,
    drift_text,
    escalated_text,
    expiry_text,
    one_line,
    overdue_text,
    owner_digest_text,
    renewal_failed_text,
    resolved_text,
    revocation_text,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
FACTS = CertificateFacts(
    certificate_id="mc-1",
    name="api",
    common_name="api.example.com",
    sans=("api.example.com",),
    environment="production",
    owner_name="Alice",
    team_name="Platform",
    issuer_name="Local CA",
    expires_at=NOW + timedelta(days=3, hours=1),
    link="https://certctl.example.com/certificates/mc-1",
)


def test_expiry_text_gives_subject_facts_and_what_to_do() -> None:
    """The body is the subject, every fact with days left, the link and what to do."""
    text = expiry_text(FACTS, 3, NOW)
    assert text.subject == "Certificate api expires in 3 days (2026-06-04)"
    assert text.body.splitlines() == [
        text.subject,
        "",
        "Certificate: api",
        "Common name: api.example.com",
        "SANs: api.example.com",
        "Expires: 2026-06-04 13:00 UTC (3 days left)",
        "Owner: Alice",
        "Team: Platform",
        "Environment: production",
        "Issuer: Local CA",
        "Details: https://certctl.example.com/certificates/mc-1",
        "",
        "What to do: renew the certificate (or confirm its renewal job is running).",
    ]


def test_renewal_failed_text_carries_the_cause() -> None:
    """The subject names job type and certificate; the body the job and the cause."""
    facts = CertificateFacts(certificate_id="mc-2", name="bare")
    job = {"id": "job-1", "type": "Renewal", "attempts": 3, "max_attempts": 3}
    text = renewal_failed_text(facts, job=job, cause="Challenge error: dns", left=None)
    assert text.subject == "Renewal of certificate bare failed"
    assert "Expires: never issued" in text.body
    assert "Job: job-1 (3/3 attempts)\nCause: Challenge error: dns" in text.body


def test_overdue_text_names_the_window_and_threshold() -> None:
    """An overdue renewal says when it was due and which threshold it is."""
    text = overdue_text(FACTS, threshold="7", left=3, window_days=30)
    assert text.subject == (
        "[OVERDUE] Certificate api was due for renewal 30 days before expiry "
        "and has not been renewed (3 days left)"
    )
    assert "Renewal window: 30 days before expiry\nThreshold: T-7" in text.body


def test_resolved_and_revocation_texts() -> None:
    """A resolved notice repeats the alert's subject with why; a revocation its facts."""
    resolved = resolved_text(FACTS, alert_subject="Certificate api expires", reason="renewed")
    assert resolved.subject == "[RESOLVED] Certificate api expires"
    assert resolved.body.splitlines()[2] == "Resolved: renewed"
    revoked = revocation_text(FACTS, serial="0A", reason="keyCompromise", by="bob", at=NOW)
    assert revoked.subject == "Certificate api was revoked (keyCompromise)"
    assert "Serial: 0A\nReason: keyCompromise\nRevoked by: bob" in revoked.body


def test_line_breaks_never_reach_a_subject_and_days_read_naturally() -> None:
    """Control characters become spaces; 1 day, 2 days, expired 1 day ago."""
    assert one_line("a\r\nb") == "a b"
    assert [days_phrase(n) for n in (1, 2, -1, -2)] == [
        "1 day left",
        "2 days left",
        "expired 1 day ago",
        "expired 2 days ago",
    ]


def test_facts_context_is_what_outbox_rows_store() -> None:
    """The stored context has every fact, the expiry as ISO 8601 (None when unissued)."""
    assert FACTS.context()["expires_at"] == "2026-06-04T13:00:00+00:00"
    assert CertificateFacts(certificate_id="x", name="x").context()["expires_at"] is None


def test_deployment_failed_text_names_the_target_and_error() -> None:
    """A failed deployment says which target, the error and what to do; no error reads '-'."""
    text = deployment_failed_text(FACTS, job_id="job-1", target_name="web\n01", error="")
    assert text.subject == "Deployment of certificate api to web 01 failed"
    assert "Job: job-1" in text.body.splitlines()
    assert "Error: -" in text.body.splitlines()
    assert text.body.endswith("What to do: fix the cause, then deploy the certificate again.")


def test_drift_text_gives_both_fingerprints() -> None:
    """A drift notice names the endpoint, the kind and the served and expected fingerprints."""
    text = drift_text(
        FACTS,
        target_name="web",
        endpoint="10.0.0.5:443",
        kind="stale",
        what="renewed but not reloaded",
        served="aa",
        expected="bb",
    )
    assert text.subject == "Certificate api drifted on web (stale)"
    lines = text.body.splitlines()
    assert lines[-4:] == [
        "Target: web (10.0.0.5:443)",
        "What: renewed but not reloaded",
        "Served SHA-256: aa",
        "Expected SHA-256: bb",
    ]


def test_escalated_text_marks_the_alert_and_says_how_long_it_waited() -> None:
    """The subject is the alert's, marked; the body says when it opened and the delay."""
    text = escalated_text(
        FACTS, alert_subject="Certificate api\nexpires", opened_at=NOW, after_minutes=30
    )
    assert text.subject == "[ESCALATED] Certificate api expires"
    assert text.body.splitlines()[:4] == [
        text.subject,
        "",
        "Opened: 2026-06-01 12:00 UTC",
        "Not acknowledged within 30 minutes",
    ]
    assert text.body.splitlines()[-1] == "What to do: acknowledge the alert, then act on it."


def test_owner_digest_lists_each_kind_with_a_count() -> None:
    """Every section is counted; an empty one says none; the link ends the body when known."""
    text = owner_digest_text(
        owner_name="Alice",
        period="2026-W23",
        critical_alerts=["A (al-1)"],
        failed_renewals=[],
        pending_approvals=["api: Renewal j-1", "web: Issuance j-2"],
        link=None,
    )
    assert text.body.splitlines() == [
        "certctl digest for Alice (2026-W23): 3 to act on",
        "",
        "Open critical alerts (1):",
        "- A (al-1)",
        "",
        "Failed renewals (0):",
        "- none",
        "",
        "Pending approvals (2):",
        "- api: Renewal j-1",
        "- web: Issuance j-2",
    ]


def test_owner_digest_ends_with_the_link_when_known() -> None:
    """With a public URL the last line links the owner's alerts."""
    text = owner_digest_text(
        owner_name="Alice",
        period="2026-06-01",
        critical_alerts=[],
        failed_renewals=["B (al-2)"],
        pending_approvals=[],
        link="https://certctl.example.com/alerts?owner_id=o-alice",
    )
    assert (
        text.body.splitlines()[-1] == "Details: https://certctl.example.com/alerts?owner_id=o-alice"
    )
