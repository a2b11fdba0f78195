"""The alert forecast read from inventory, policies, alerts, silences, quiet hours (C3).

Loads what the expiry scan and the delivery gates read, hands it to `domain.forecast` (the
scan's own rules replayed once a day, no renewal assumed) and names each delivery's
destination the way the dispatcher picks it: a team's or owner's override, else the channel's
configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from certctl.db.uow import AlertCandidate
from certctl.domain.access import Caller, Permission
from certctl.domain.alert_lifecycle import AlertKind, alert_dedup_key
from certctl.domain.forecast import MAX_DAYS, ForecastItem, Gates, Subject, forecast
from certctl.domain.policies import AlertChannel, RenewalPolicy, effective_thresholds
from certctl.domain.quiet_hours import Window
from certctl.domain.route_overrides import RouteOverride, pick
from certctl.domain.silences import DeliveryFacts
from certctl.errors import InvalidRequest
from certctl.services import routing
from certctl.services.alert_outbox import recipients_of
from certctl.services.alerts import all_policies, policy_window_days
from certctl.services.route_overrides import masked_destination
from certctl.services.runtime import Runtime
from certctl.settings import Settings


@dataclass(frozen=True)
class ForecastScope:
    """Which certificates a forecast covers (unset = all)."""

    certificate_id: str | None = None
    owner_id: str | None = None
    team_id: str | None = None

    def admits(self, facts: DeliveryFacts) -> bool:
        """Whether a certificate with these facts is in scope."""
        return all(
            wanted is None or getattr(facts, name) == wanted for name, wanted in vars(self).items()
        )


@dataclass(frozen=True)
class ForecastEntry:
    """One forecast delivery with its certificate's name and where it would go."""

    item: ForecastItem
    certificate_name: str
    destination: str
    override_id: str | None
    configured: bool = True
    """False when the dispatcher would skip the delivery: the channel is not configured."""


@dataclass(frozen=True)
class Forecast:
    """The forecast of the next `days` days from `start`."""

    start: datetime
    days: int
    entries: tuple[ForecastEntry, ...]
    assumes_no_renewal: bool = True


def check_days(days: int) -> int:
    """Refuse a horizon outside 1 to 90 days, naming the field."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidRequest(f"days must be between 1 and {MAX_DAYS}, got {days}", field="days")
    return days


def _facts(candidate: AlertCandidate, facts: Mapping[str, DeliveryFacts]) -> DeliveryFacts:
    cert_id = candidate.certificate.id
    return facts.get(cert_id) or DeliveryFacts(channel="", certificate_id=cert_id)


def _subject(
    candidate: AlertCandidate,
    facts: DeliveryFacts,
    policies: Mapping[str, RenewalPolicy],
) -> Subject:
    cert = candidate.certificate
    assert cert.expires_at is not None
    return Subject(
        facts=facts,
        version_ref=candidate.version_ref,
        expires_at=cert.expires_at,
        not_before=candidate.not_before,
        policy=policies.get(cert.renewal_policy_id or ""),
    )


def _destination(
    channel: str,
    setup: routing.ChannelSetup | None,
    emails: Sequence[str],
    override: RouteOverride | None,
) -> str:
    if override is not None:
        return masked_destination(channel, override.config)
    if setup is None or not setup.configured:
        return ""
    if channel == AlertChannel.EMAIL.value:
        return ", ".join(emails)
    return masked_destination(channel, setup.config or {})


async def alert_forecast(
    runtime: Runtime,
    settings: Settings,
    caller: Caller,
    *,
    days: int = 30,
    scope: ForecastScope | None = None,
) -> Forecast:
    """What the expiry scan would send on each of the next `days` days, and to whom."""
    caller.principal.require(Permission.READ)
    check_days(days)
    scope = scope or ForecastScope()
    now = runtime.clock.now()
    setups = {s.channel: s for s in await routing.channel_setups(runtime, settings, caller)}
    async with runtime.db.uow() as uow:
        policies = await all_policies(uow)
        horizon = max([policy_window_days(None), *map(policy_window_days, policies.values())])
        candidates = await uow.alert_candidates(until=now + timedelta(days=horizon + days + 1))
        facts = await uow.gates.facts([c.certificate.id for c in candidates])
        silences = await uow.gates.live_silences(now)
        quiet = [(q, Window.of(q)) for q in await uow.gates.enabled_quiet_hours()]
        overrides = await uow.gates.enabled_overrides()
        chosen = [c for c in candidates if scope.admits(_facts(c, facts))]
        subjects = [_subject(c, _facts(c, facts), policies) for c in chosen]
        alerted = set(await uow.alerts.by_dedup_keys(_possible_keys(subjects)))
    gates = Gates(
        silences=silences,
        quiet=quiet,
        overdue_tier=runtime.alerting.tier_of(AlertKind.OVERDUE),
        overdue_grace=runtime.alerting.overdue_grace,
    )
    items = forecast(subjects, start=now, days=days, alerted=alerted, gates=gates)
    by_id = {c.certificate.id: c for c in chosen}
    entries = []
    for item in items:
        candidate = by_id[item.certificate_id]
        cert_facts = _facts(candidate, facts)
        override = pick(
            overrides,
            channel=item.channel,
            tier=item.tier,
            owner_id=cert_facts.owner_id,
            team_id=cert_facts.team_id,
        )
        emails = recipients_of(candidate.owner_email, settings.extra_recipients())
        setup = setups.get(item.channel)
        entries.append(
            ForecastEntry(
                item=item,
                certificate_name=candidate.certificate.name,
                destination=_destination(item.channel, setup, emails, override),
                override_id=override.id if override else None,
                configured=setup is not None and setup.configured,
            )
        )
    return Forecast(start=now, days=days, entries=tuple(entries))


def _possible_keys(subjects: Sequence[Subject]) -> list[str]:
    """The dedup keys of every alert the subjects could raise, to find those that exist."""
    keys = []
    for subject in subjects:
        cert_id = subject.facts.certificate_id or ""
        for threshold in effective_thresholds(subject.policy):
            for kind in (AlertKind.EXPIRY, AlertKind.OVERDUE):
                keys.append(alert_dedup_key(kind, cert_id, subject.version_ref, str(threshold)))
    return keys
