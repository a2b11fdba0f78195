"""Schemas of silences and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from certctl.api.schemas.common import In, Line, Name, Out, ResourceId
from certctl.domain.policies import AlertChannel


def _utc(value: datetime) -> datetime:
    """The instant in UTC; one outside the years 2000-9998 cannot be a silence's bound."""
    if not 2000 <= value.year <= 9998:
        raise ValueError("must be between the years 2000 and 9998")
    return value.astimezone(UTC)


Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
"""A time with its UTC offset (a time without one is refused: it would be ambiguous)."""
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Clock = Annotated[str, StringConstraints(pattern=r"^\d\d:\d\d$")]
Weekday = Annotated[str, StringConstraints(pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$")]


class SilenceIn(In):
    """A silence: at least one matcher, a reason and an end (at most 90 days after its start)."""

    id: ResourceId | None = None
    reason: Reason
    starts_at: Instant | None = Field(default=None, description="Default: now.")
    ends_at: Instant
    certificate_id: ResourceId | None = None
    owner_id: ResourceId | None = None
    team_id: ResourceId | None = None
    environment: Line | None = Field(default=None, max_length=64)
    issuer_id: ResourceId | None = None
    tag: Line | None = Field(default=None, max_length=255, description="`key` or `key=value`.")
    channel: AlertChannel | None = None


class SilencePatch(In):
    """Fields of a silence to change."""

    reason: Reason | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    certificate_id: ResourceId | None = None
    owner_id: ResourceId | None = None
    team_id: ResourceId | None = None
    environment: Line | None = Field(default=None, max_length=64)
    issuer_id: ResourceId | None = None
    tag: Line | None = Field(default=None, max_length=255)
    channel: AlertChannel | None = None


class SilenceOut(Out):
    """A silence and who created it."""

    id: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    created_by: str
    certificate_id: str | None
    owner_id: str | None
    team_id: str | None
    environment: str | None
    issuer_id: str | None
    tag: str | None
    channel: str | None
    created_at: datetime
    updated_at: datetime


class QuietHoursIn(In):
    """A quiet window of a team, a channel or a team on a channel (local time, IANA zone)."""

    id: ResourceId | None = None
    name: Name
    weekdays: list[Weekday] = Field(min_length=1, max_length=7)
    start: Clock = Field(description="Local start, HH:MM.")
    end: Clock = Field(description="Local end, HH:MM; not after start = the next day.")
    timezone: Line = Field(max_length=64, description="IANA zone, e.g. Europe/Berlin.")
    team_id: ResourceId | None = None
    channel: AlertChannel | None = None
    enabled: bool = True


class QuietHoursPatch(In):
    """Fields of a quiet window to change."""

    name: Name | None = None
    weekdays: list[Weekday] | None = Field(default=None, min_length=1, max_length=7)
    start: Clock | None = None
    end: Clock | None = None
    timezone: Line | None = Field(default=None, max_length=64)
    team_id: ResourceId | None = None
    channel: AlertChannel | None = None
    enabled: bool | None = None


class QuietHoursOut(Out):
    """A quiet window."""

    id: str
    name: str
    weekdays: list[str]
    start: str
    end: str
    timezone: str
    team_id: str | None
    channel: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
