"""Per-team and per-owner routing overrides: a team's own destination for a channel (C3).

The policy matrix decides which channels a threshold's tier fires; an override replaces where
one of those channels delivers for one team's or one owner's certificates — its own Slack
webhook, PagerDuty routing key, OpsGenie key and responders, webhook URL or e-mail list — for
one tier or for every tier. The most specific enabled override wins: owner before team, a
named tier before every tier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from certctl.domain.inventory import check_email
from certctl.domain.policies import AlertChannel, SeverityTier
from certctl.errors import InvalidRequest

OVERRIDE_FIELDS: Mapping[str, frozenset[str]] = {
    AlertChannel.SLACK.value: frozenset({"webhook_url", "channel", "username"}),
    AlertChannel.TEAMS.value: frozenset({"webhook_url", "format"}),
    AlertChannel.PAGERDUTY.value: frozenset({"routing_key", "events_url", "severity_map"}),
    AlertChannel.OPSGENIE.value: frozenset(
        {"api_key", "api_url", "priority_map", "tags", "responders"}
    ),
    AlertChannel.WEBHOOK.value: frozenset({"url", "secret"}),
    AlertChannel.EMAIL.value: frozenset({"recipients"}),
}
"""What an override may set per channel; the rest comes from the channel's own configuration."""


@dataclass(frozen=True)
class RouteOverride:
    """Where one channel delivers for one team's or owner's certificates (one tier or all)."""

    id: str
    name: str
    channel: str
    created_at: datetime
    updated_at: datetime
    team_id: str | None = None
    owner_id: str | None = None
    tier: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    sealed_secrets: str | None = None
    enabled: bool = True

    @property
    def scope(self) -> str:
        """`owner <id>` or `team <id>`."""
        return f"owner {self.owner_id}" if self.owner_id else f"team {self.team_id}"


def check_override(override: RouteOverride) -> None:
    """Refuse an override without exactly one scope, of an unknown tier, or a bad config."""
    if bool(override.team_id) == bool(override.owner_id):
        raise InvalidRequest("give exactly one of team_id and owner_id", field="team_id")
    if override.tier is not None and override.tier not in {t.value for t in SeverityTier}:
        allowed = ", ".join(t.value for t in SeverityTier)
        raise InvalidRequest(f"unknown tier {override.tier!r}; allowed: {allowed}", field="tier")
    allowed_fields = OVERRIDE_FIELDS[override.channel]
    for key in override.config:
        if key not in allowed_fields:
            names = ", ".join(sorted(allowed_fields))
            raise InvalidRequest(
                f"{override.channel} overrides set only {names}", field=f"config.{key}"
            )
    if not override.config:
        raise InvalidRequest("an override sets at least one destination field", field="config")
    if override.channel == AlertChannel.EMAIL.value:
        _check_recipients(override.config.get("recipients"))


def _check_recipients(value: Any) -> None:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidRequest("a list of e-mail addresses", field="config.recipients")
    for index, address in enumerate(value):
        check_email(str(address), field=f"config.recipients[{index}]")


def pick(
    overrides: Iterable[RouteOverride],
    *,
    channel: str,
    tier: str,
    owner_id: str | None,
    team_id: str | None,
) -> RouteOverride | None:
    """The most specific enabled override of this delivery, if any."""
    ranked = []
    for o in overrides:
        if not o.enabled or o.channel != channel or o.tier not in (None, tier):
            continue
        if o.owner_id and o.owner_id == owner_id:
            ranked.append(((0, o.tier is None, o.name), o))
        elif o.team_id and o.team_id == team_id:
            ranked.append(((1, o.tier is None, o.name), o))
    return min(ranked, key=lambda pair: pair[0])[1] if ranked else None
