"""Schemas of per-team and per-owner routing overrides and of a certificate's effective route."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from certctl.api.schemas.common import In, Name, Out, ResourceId
from certctl.domain.policies import AlertChannel, SeverityTier


class RouteOverrideIn(In):
    """A team's or owner's own destination for one channel, for one tier or every tier."""

    id: ResourceId | None = None
    name: Name
    channel: AlertChannel
    team_id: ResourceId | None = None
    owner_id: ResourceId | None = None
    tier: SeverityTier | None = Field(default=None, description="None: every tier.")
    config: dict[str, Any] = Field(
        description="Slack/Teams: webhook_url; PagerDuty: routing_key; OpsGenie: api_key, "
        "responders; Webhook: url, secret; Email: recipients."
    )
    enabled: bool = True


class RouteOverridePatch(In):
    """Fields of an override to change (channel and scope are fixed)."""

    name: Name | None = None
    tier: SeverityTier | None = None
    config: dict[str, Any] | None = None
    enabled: bool | None = None


class RouteOverrideOut(Out):
    """An override with its secrets masked."""

    id: str
    name: str
    channel: str
    team_id: str | None
    owner_id: str | None
    tier: str | None
    config: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class RouteChannelOut(Out):
    """One channel of a tier: its destination (secrets masked) and what decides it."""

    channel: str
    destination: str
    decided_by: str = Field(description="`override` or `matrix`.")
    why: str
    override_id: str | None


class TierRouteOut(Out):
    """One tier: the thresholds that fire it and its channels."""

    tier: str
    thresholds: list[int | str]
    channels: list[RouteChannelOut]


class EffectiveRouteOut(Out):
    """Who gets paged for a certificate per tier, and why."""

    certificate_id: str
    policy_id: str | None
    policy_name: str
    owner_id: str | None
    team_id: str | None
    tiers: list[TierRouteOut]
