"""Silences: time-bounded mutes of alert deliveries, chosen by matchers (C3).

A silence matches a delivery when every matcher it gives matches; a delivery that would go out
while a matching silence is active is held as `silenced` (never dropped) and goes out when the
silence ends, unless its alert resolved meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from certctl.errors import InvalidRequest

MAX_SILENCE = timedelta(days=90)
MATCHERS = ("certificate_id", "owner_id", "team_id", "environment", "issuer_id", "tag", "channel")
"""The fields a silence may match on; `tag` is `key` (present) or `key=value`."""


@dataclass(frozen=True)
class DeliveryFacts:
    """What matchers see of one delivery: its channel and its certificate's attributes."""

    channel: str
    certificate_id: str | None = None
    owner_id: str | None = None
    team_id: str | None = None
    environment: str = ""
    issuer_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    severity_tier: str = ""


@dataclass(frozen=True)
class Silence:
    """A mute of the deliveries its matchers select, from `starts_at` until `ends_at`."""

    id: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    updated_at: datetime
    created_by: str = ""
    certificate_id: str | None = None
    owner_id: str | None = None
    team_id: str | None = None
    environment: str | None = None
    issuer_id: str | None = None
    tag: str | None = None
    channel: str | None = None

    def active(self, now: datetime) -> bool:
        """Whether the silence mutes deliveries at `now`."""
        return self.starts_at <= now < self.ends_at

    def matchers(self) -> dict[str, str]:
        """The matchers this silence gives (unset ones left out)."""
        return {name: value for name in MATCHERS if (value := getattr(self, name))}


def check_silence(silence: Silence) -> None:
    """Refuse a silence without reason or matcher, ending before it starts, or too long."""
    if not silence.reason.strip():
        raise InvalidRequest("a silence needs a reason", field="reason")
    if silence.ends_at <= silence.starts_at:
        raise InvalidRequest("ends_at must be after starts_at", field="ends_at")
    if silence.ends_at - silence.starts_at > MAX_SILENCE:
        raise InvalidRequest(f"a silence lasts at most {MAX_SILENCE.days} days", field="ends_at")
    if not silence.matchers():
        names = ", ".join(MATCHERS)
        raise InvalidRequest(f"a silence needs at least one matcher of: {names}", field="matchers")


def _tag_matches(wanted: str, tags: Mapping[str, str]) -> bool:
    key, sep, value = wanted.partition("=")
    if key not in tags:
        return False
    return not sep or tags[key] == value


def matches(silence: Silence, facts: DeliveryFacts) -> bool:
    """Whether every matcher the silence gives matches this delivery."""
    for name, wanted in silence.matchers().items():
        if name == "tag":
            if not _tag_matches(wanted, facts.tags):
                return False
        elif getattr(facts, name) != wanted:
            return False
    return True


def muting(silences: Iterable[Silence], facts: DeliveryFacts, now: datetime) -> Silence | None:
    """The active silence (the one ending last) that mutes this delivery, if any."""
    found = [s for s in silences if s.active(now) and matches(s, facts)]
    return max(found, key=lambda s: (s.ends_at, s.id)) if found else None
