"""The alert forecast: which deliveries the expiry scan would make on each coming day (C3).

It replays the scan's own rules (`crossed_thresholds`, `overdue`, the silence and quiet-hour
gates) at one instant per day, assuming no certificate is renewed meanwhile, so what it
predicts is what the scan then decides when it runs at those instants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from certctl.domain.alert_lifecycle import AlertKind, alert_dedup_key
from certctl.domain.alerts import ThresholdDecision, crossed_thresholds, overdue, overdue_decisions
from certctl.domain.policies import RenewalPolicy
from certctl.domain.quiet_hours import QuietHours, Window, covers, held_until
from certctl.domain.silences import DeliveryFacts, Silence, muting

MAX_DAYS = 90


@dataclass(frozen=True)
class Subject:
    """One certificate as the scan sees it: its latest version, validity, policy and facts."""

    facts: DeliveryFacts
    version_ref: str
    expires_at: datetime
    not_before: datetime | None
    policy: RenewalPolicy | None


@dataclass(frozen=True)
class Gates:
    """What the dispatcher gates deliveries with, and the overdue rules of the scan."""

    silences: Sequence[Silence] = ()
    quiet: Sequence[tuple[QuietHours, Window]] = ()
    overdue_tier: str = "warning"
    overdue_grace: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class ForecastItem:
    """One delivery the scan would decide on `day` (at instant `at`)."""

    day: date
    at: datetime
    kind: AlertKind
    certificate_id: str
    threshold: str
    tier: str
    channel: str
    silence_id: str | None = None
    held_until: datetime | None = None


def instants(start: datetime, days: int) -> list[datetime]:
    """The scan instants forecast: `start`, then the same time on each following day."""
    return [start + timedelta(days=i) for i in range(days)]


def _decisions(
    subject: Subject, now: datetime, gates: Gates
) -> list[tuple[AlertKind, ThresholdDecision]]:
    crossed = crossed_thresholds(
        subject.policy, expires_at=subject.expires_at, not_before=subject.not_before, now=now
    )
    found = [(AlertKind.EXPIRY, d) for d in crossed]
    late = overdue(
        renews_itself=subject.facts.issuer_id is not None,
        policy=subject.policy,
        expires_at=subject.expires_at,
        now=now,
        grace=gates.overdue_grace,
    )
    if late:
        found += [
            (AlertKind.OVERDUE, d)
            for d in overdue_decisions(subject.policy, crossed, gates.overdue_tier)
        ]
    return found


def _item(
    subject: Subject,
    kind: AlertKind,
    decision: ThresholdDecision,
    channel: str,
    now: datetime,
    gates: Gates,
) -> ForecastItem:
    facts = replace(subject.facts, channel=channel)
    silence = muting(gates.silences, facts, now)
    windows = [w for q, w in gates.quiet if covers(q, channel, facts.team_id)]
    until = None if silence else held_until(windows, now, decision.tier)
    return ForecastItem(
        day=now.date(),
        at=now,
        kind=kind,
        certificate_id=facts.certificate_id or "",
        threshold=str(decision.threshold),
        tier=decision.tier,
        channel=channel,
        silence_id=silence.id if silence else None,
        held_until=until,
    )


def forecast(
    subjects: Sequence[Subject],
    *,
    start: datetime,
    days: int,
    alerted: set[str],
    gates: Gates,
) -> list[ForecastItem]:
    """Every delivery the scan would decide at each instant, each alert once, in day order.

    `alerted` holds the dedup keys of alerts that already exist; a threshold whose tier has
    no channel (or only unknown ones) forecasts nothing, as the scan only records a skip.
    """
    seen = set(alerted)
    items: list[ForecastItem] = []
    for now in instants(start, days):
        for subject in subjects:
            cert_id = subject.facts.certificate_id or ""
            for kind, decision in _decisions(subject, now, gates):
                key = alert_dedup_key(kind, cert_id, subject.version_ref, str(decision.threshold))
                if key in seen:
                    continue
                seen.add(key)
                items.extend(
                    _item(subject, kind, decision, c.channel, now, gates)
                    for c in decision.channels
                    if c.valid
                )
    return items
