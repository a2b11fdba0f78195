"""The words of every alert and notice, rendered in one place (C2, C3).

One renderer per message kind turns facts into the subject and body every channel shows;
services pass facts, never text, so Email, Slack, PagerDuty and the rest say the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Names stored before input refused control characters (or read from an imported certificate)
# must not break the one-line subject: a mail header cannot hold CR/LF (RFC 5322 §2.2).
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]+")


@dataclass(frozen=True)
class CertificateFacts:
    """What every message says about the certificate it concerns."""

    certificate_id: str
    name: str
    common_name: str = ""
    sans: tuple[str, ...] = ()
    environment: str = ""
    owner_name: str = ""
    team_name: str = ""
    issuer_name: str = ""
    expires_at: datetime | None = None
    link: str | None = None

    def context(self) -> dict[str, Any]:
        """The facts as stored with each outbox row (what notifiers render from)."""
        return {
            "certificate_name": self.name,
            "common_name": self.common_name,
            "sans": list(self.sans),
            "environment": self.environment,
            "owner_name": self.owner_name,
            "team_name": self.team_name,
            "issuer_name": self.issuer_name,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "link": self.link,
        }


@dataclass(frozen=True)
class MessageText:
    """A rendered message: one-line subject and plain-text body."""

    subject: str
    body: str


def one_line(text: str) -> str:
    """`text` without line breaks, safe in a subject or mail header."""
    return _LINE_BREAKING.sub(" ", text)


def expiry_subject(name: str, left: int, expires_at: datetime, now: datetime) -> str:
    """`[EXPIRED]` only once the certificate really expired; otherwise the days left (C2)."""
    name = one_line(name)
    if expires_at <= now:
        return f"[EXPIRED] Certificate {name} expired on {expires_at:%Y-%m-%d %H:%M} UTC"
    if left <= 0:
        return f"[EXPIRES TODAY] Certificate {name} expires at {expires_at:%Y-%m-%d %H:%M} UTC"
    unit = "day" if left == 1 else "days"
    return f"Certificate {name} expires in {left} {unit} ({expires_at:%Y-%m-%d})"


def days_phrase(left: int) -> str:
    """`3 days left`, `1 day left`, `expired 2 days ago`."""
    if left < 0:
        return f"expired {-left} day{'s' if left < -1 else ''} ago"
    return f"{left} day{'' if left == 1 else 's'} left"


def _facts_lines(facts: CertificateFacts, left: int | None) -> list[str]:
    lines = [
        f"Certificate: {facts.name}",
        f"Common name: {facts.common_name}",
        f"SANs: {', '.join(facts.sans) or '-'}",
    ]
    if facts.expires_at is None:
        lines.append("Expires: never issued")
    else:
        phrase = f" ({days_phrase(left)})" if left is not None else ""
        lines.append(f"Expires: {facts.expires_at:%Y-%m-%d %H:%M} UTC{phrase}")
    lines += [
        f"Owner: {facts.owner_name or '-'}",
        f"Team: {facts.team_name or '-'}",
        f"Environment: {facts.environment or '-'}",
        f"Issuer: {facts.issuer_name or '-'}",
    ]
    if facts.link:
        lines.append(f"Details: {facts.link}")
    return lines


def _text(subject: str, *sections: list[str]) -> MessageText:
    lines = [subject]
    for section in sections:
        lines += ["", *section]
    return MessageText(subject, "\n".join(lines))


def expiry_text(facts: CertificateFacts, left: int, now: datetime) -> MessageText:
    """An expiry threshold crossed."""
    assert facts.expires_at is not None, "an expiry alert concerns an issued certificate"
    subject = expiry_subject(facts.name, left, facts.expires_at, now)
    todo = ["What to do: renew the certificate (or confirm its renewal job is running)."]
    return _text(subject, _facts_lines(facts, left), todo)


def renewal_failed_text(
    facts: CertificateFacts, *, job: Mapping[str, Any], cause: str, left: int | None
) -> MessageText:
    """An issuing job failed: the job, the cause in the CA's words, what to do."""
    subject = f"{job['type']} of certificate {one_line(facts.name)} failed"
    detail = [
        f"Job: {job['id']} ({job['attempts']}/{job['max_attempts']} attempts)",
        f"Cause: {cause}",
    ]
    todo = ["What to do: fix the cause, then renew the certificate again."]
    return _text(subject, _facts_lines(facts, left), detail, todo)


def overdue_text(
    facts: CertificateFacts, *, threshold: str, left: int, window_days: int
) -> MessageText:
    """Past the renewal window's start with no successor."""
    subject = (
        f"[OVERDUE] Certificate {one_line(facts.name)} was due for renewal "
        f"{window_days} days before expiry and has not been renewed ({days_phrase(left)})"
    )
    detail = [
        f"Renewal window: {window_days} days before expiry",
        f"Threshold: T-{threshold}",
    ]
    todo = ["What to do: check the renewal job, its issuer and agent, or renew by hand."]
    return _text(subject, _facts_lines(facts, left), detail, todo)


def resolved_text(facts: CertificateFacts, *, alert_subject: str, reason: str) -> MessageText:
    """An alert ended: which one, and why."""
    subject = f"[RESOLVED] {one_line(alert_subject)}"
    return _text(subject, [f"Resolved: {reason}"], _facts_lines(facts, None))


def escalated_text(
    facts: CertificateFacts, *, alert_subject: str, opened_at: datetime, after_minutes: int
) -> MessageText:
    """A critical alert nobody acknowledged in time, sent again to the escalation channels."""
    subject = f"[ESCALATED] {one_line(alert_subject)}"
    detail = [
        f"Opened: {opened_at:%Y-%m-%d %H:%M} UTC",
        f"Not acknowledged within {after_minutes} minutes",
    ]
    todo = ["What to do: acknowledge the alert, then act on it."]
    return _text(subject, detail, _facts_lines(facts, None), todo)


def revocation_text(
    facts: CertificateFacts, *, serial: str, reason: str, by: str, at: datetime
) -> MessageText:
    """A certificate was revoked."""
    subject = f"Certificate {one_line(facts.name)} was revoked ({reason})"
    detail = [
        f"Serial: {serial}",
        f"Reason: {reason}",
        f"Revoked by: {by}",
        f"Revoked at: {at:%Y-%m-%d %H:%M} UTC",
    ]
    return _text(subject, _facts_lines(facts, None), detail)


def deployment_failed_text(
    facts: CertificateFacts, *, job_id: str, target_name: str, error: str
) -> MessageText:
    """A Deployment job failed on its target: which target, the error, what to do."""
    subject = f"Deployment of certificate {one_line(facts.name)} to {one_line(target_name)} failed"
    detail = [f"Job: {job_id}", f"Target: {target_name}", f"Error: {error or '-'}"]
    todo = ["What to do: fix the cause, then deploy the certificate again."]
    return _text(subject, _facts_lines(facts, None), detail, todo)


def drift_text(
    facts: CertificateFacts,
    *,
    target_name: str,
    endpoint: str,
    kind: str,
    what: str,
    served: str,
    expected: str,
) -> MessageText:
    """An endpoint serves something other than the certificate's current version."""
    subject = f"Certificate {one_line(facts.name)} drifted on {one_line(target_name)} ({kind})"
    detail = [
        f"Target: {target_name} ({endpoint})",
        f"What: {what}",
        f"Served SHA-256: {served}",
        f"Expected SHA-256: {expected}",
    ]
    return _text(subject, _facts_lines(facts, None), detail)


def owner_digest_text(
    *,
    owner_name: str,
    period: str,
    critical_alerts: list[str],
    failed_renewals: list[str],
    pending_approvals: list[str],
    link: str | None,
) -> MessageText:
    """One owner's digest: each list of what needs a person, one line per item."""
    count = len(critical_alerts) + len(failed_renewals) + len(pending_approvals)
    subject = f"certctl digest for {one_line(owner_name)} ({period}): {count} to act on"
    sections = [
        [f"Open critical alerts ({len(critical_alerts)}):", *_items(critical_alerts)],
        [f"Failed renewals ({len(failed_renewals)}):", *_items(failed_renewals)],
        [f"Pending approvals ({len(pending_approvals)}):", *_items(pending_approvals)],
    ]
    if link:
        sections.append([f"Details: {link}"])
    return _text(subject, *sections)


def _items(lines: list[str]) -> list[str]:
    return [f"- {one_line(line)}" for line in lines] or ["- none"]
