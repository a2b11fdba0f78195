"""Alert states, kind tiers, dedup keys and renewal-failure causes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.alert_lifecycle import (
    Alert,
    AlertingRules,
    AlertKind,
    AlertState,
    FailureCause,
    acknowledged,
    alert_dedup_key,
    cause_text,
    escalated,
    escalation_due,
    failure_cause,
    kind_tier_errors,
    resolved,
)
from certctl.errors import Conflict, InvalidRequest

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def alert(state: AlertState = AlertState.OPEN) -> Alert:
    return Alert(
        id="al-1",
        kind=AlertKind.EXPIRY,
        certificate_id="mc-1",
        version_id="cv-1",
        threshold="7",
        tier="warning",
        state=state,
        subject="s",
        incident_key="certctl-mc-1-cv-1-T7",
        dedup_key="k",
        opened_at=NOW,
        updated_at=NOW,
    )


def test_acknowledging_records_who_and_when() -> None:
    """An open alert becomes acknowledged by the caller, still open."""
    later = NOW + timedelta(minutes=5)
    after = acknowledged(alert(), by="alice", now=later)
    assert (after.state, after.acknowledged_by, after.acknowledged_at, after.is_open) == (
        AlertState.ACKNOWLEDGED,
        "alice",
        later,
        True,
    )


@pytest.mark.parametrize("state", [AlertState.ACKNOWLEDGED, AlertState.RESOLVED])
def test_only_an_open_alert_is_acknowledged(state: AlertState) -> None:
    """Acknowledging twice, or after resolution, is a conflict."""
    with pytest.raises(Conflict):
        acknowledged(alert(state), by="alice", now=NOW)


def test_resolving_records_who_when_and_why() -> None:
    """A resolved alert keeps the reason, stripped, and is no longer open."""
    after = resolved(alert(AlertState.ACKNOWLEDGED), by="system", reason=" renewed ", now=NOW)
    assert (after.state, after.resolved_by, after.resolve_reason, after.is_open) == (
        AlertState.RESOLVED,
        "system",
        "renewed",
        False,
    )


def test_resolving_needs_a_reason_and_an_unresolved_alert() -> None:
    """A blank reason is an invalid request naming `reason`; resolving twice a conflict."""
    with pytest.raises(InvalidRequest) as blank:
        resolved(alert(), by="a", reason="  ", now=NOW)
    assert blank.value.field == "reason"
    with pytest.raises(Conflict):
        resolved(alert(AlertState.RESOLVED), by="a", reason="again", now=NOW)


def test_dedup_keys_differ_by_kind_and_threshold() -> None:
    """The same version and threshold give different keys for expiry and overdue."""
    keys = {
        alert_dedup_key(AlertKind.EXPIRY, "mc", "cv", "7"),
        alert_dedup_key(AlertKind.OVERDUE, "mc", "cv", "7"),
        alert_dedup_key(AlertKind.EXPIRY, "mc", "cv", "14"),
    }
    assert len(keys) == 3


def test_rules_give_the_tier_of_a_kind_and_the_certificate_link() -> None:
    """Mapped kinds take their tier, unmapped ones warning; the link needs a public URL."""
    rules = AlertingRules(kind_tiers={"overdue": "critical"}, public_url="https://c.example")
    assert (rules.tier_of(AlertKind.OVERDUE), rules.tier_of(AlertKind.DRIFT)) == (
        "critical",
        "warning",
    )
    assert rules.link("mc-1") == "https://c.example/certificates/mc-1"
    assert AlertingRules().link("mc-1") is None
    assert AlertingRules().tier_of(AlertKind.RENEWAL_FAILED) == "critical"


def test_kind_tier_errors_name_unknown_kinds_and_tiers() -> None:
    """expiry takes its tiers from policies, so it is no key here; tiers are the closed set."""
    errors = kind_tier_errors({"expiry": "warning", "overdue": "urgent", "drift": "critical"})
    assert [e.field for e in errors] == ["alert_kind_tiers.expiry", "alert_kind_tiers.overdue"]


@pytest.mark.parametrize(
    ("error", "problem", "cause"),
    [
        (
            "order failed",
            "urn:ietf:params:acme:error:incorrectResponse",
            FailureCause.CHALLENGE_ERROR,
        ),
        ("http-01 challenge invalid", None, FailureCause.CHALLENGE_ERROR),
        ("timed out after 168 h waiting for an approval", None, FailureCause.APPROVAL_TIMED_OUT),
        ("timed out after 24 h waiting for a CSR", None, FailureCause.AGENT_OFFLINE),
        ("agent web-1 is offline", None, FailureCause.AGENT_OFFLINE),
        ("Vault answered 403: permission denied", None, FailureCause.CA_AUTHENTICATION),
        ("key size not allowed by the profile", None, FailureCause.PROFILE_VIOLATION),
        ("CAUnavailable: the CA answered 503", None, FailureCause.OTHER),
        (None, None, FailureCause.OTHER),
    ],
)
def test_failure_causes_are_classified(
    error: str | None, problem: str | None, cause: FailureCause
) -> None:
    """The CA's problem type wins; otherwise the error text says which cause it was."""
    assert failure_cause(error, problem) is cause


def test_cause_text_labels_the_error() -> None:
    """The cause shown is its label and the error, or that no detail was recorded."""
    assert cause_text(FailureCause.AGENT_OFFLINE, "no CSR") == "Agent offline: no CSR"
    assert cause_text(FailureCause.OTHER, None) == "Issuance error: no detail recorded"


def test_escalation_is_due_at_exactly_the_delay_for_an_open_critical_alert() -> None:
    """Not at N minutes minus a second, at N minutes, once, only open and critical."""
    critical = replace(alert(), tier="critical")
    due = NOW + timedelta(minutes=30)
    assert not escalation_due(critical, after_minutes=30, now=due - timedelta(seconds=1))
    assert escalation_due(critical, after_minutes=30, now=due)
    assert not escalation_due(critical, after_minutes=None, now=due)
    assert not escalation_due(alert(), after_minutes=30, now=due)
    acked = replace(critical, state=AlertState.ACKNOWLEDGED)
    assert not escalation_due(acked, after_minutes=30, now=due)
    done = escalated(critical, now=due)
    assert (done.escalated_at, done.escalation_level, done.updated_at) == (due, 1, due)
    assert not escalation_due(done, after_minutes=30, now=due)
