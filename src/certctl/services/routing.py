"""Who is alerted for a certificate: its effective alert route and which channels are set up.

Read-only: it resolves the certificate's policy the way the expiry scan does (SPEC C2) and
tells, for each channel of each tier, where the channel's configuration comes from — a
database channel overrides the CERTCTL_* variables of its type, as the dispatcher does — so
an operator sees before the alert fires which cells would be skipped, and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from certctl.connectors.registry import configs_from_settings
from certctl.domain.access import Caller, Permission
from certctl.domain.inventory import SECRET_MASK, Owner, is_secret_key
from certctl.domain.listing import PageRequest, SortKey
from certctl.domain.notifications import NotificationChannel
from certctl.domain.policies import (
    AlertChannel,
    RenewalPolicy,
    effective_alert_channels,
    effective_alert_severity,
    effective_thresholds,
)
from certctl.domain.thresholds import Threshold
from certctl.services.runtime import Runtime
from certctl.settings import Settings

DATABASE = "database"
ENVIRONMENT = "environment"


@dataclass(frozen=True)
class ChannelSetup:
    """Where one channel type's configuration comes from ('' source = not configured)."""

    channel: str
    source: str
    name: str = ""
    channel_id: str | None = None
    config: Mapping[str, Any] | None = None

    @property
    def configured(self) -> bool:
        """Whether the dispatcher has a notifier for this channel."""
        return bool(self.source)


@dataclass(frozen=True)
class RouteStep:
    """One channel of one threshold: who receives it, or why it would be skipped."""

    channel: str
    recipient: str
    source: str
    skipped_because: str = ""

    @property
    def configured(self) -> bool:
        """Whether the channel is configured (in the environment or the database)."""
        return bool(self.source)


@dataclass(frozen=True)
class RouteRow:
    """What fires at one threshold: its tier and channels (none = the tier opted out)."""

    threshold: Threshold
    tier: str
    steps: tuple[RouteStep, ...]


@dataclass(frozen=True)
class AlertRoute:
    """The effective alert route of one certificate."""

    certificate_id: str
    policy_id: str | None
    policy_name: str
    owner_name: str
    owner_email: str
    team_name: str
    rows: tuple[RouteRow, ...]


def _masked(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: SECRET_MASK if is_secret_key(k) and v else v for k, v in config.items()}


async def channel_setups(
    runtime: Runtime, settings: Settings, caller: Caller
) -> tuple[ChannelSetup, ...]:
    """Every channel type with the source of its configuration, secrets masked."""
    caller.principal.require(Permission.READ)
    async with runtime.db.uow() as uow:
        page = await uow.channels.page(
            request=PageRequest(per_page=500), sort=SortKey("name"), equals={"enabled": True}
        )
    return setups_of(page.items, configs_from_settings(settings))


def setups_of(
    stored: Sequence[NotificationChannel], environment: Mapping[str, Mapping[str, Any]]
) -> tuple[ChannelSetup, ...]:
    """The setup of each channel type: the first enabled database channel, else the environment."""
    first: dict[str, NotificationChannel] = {}
    for channel in stored:
        if channel.enabled:
            first.setdefault(channel.channel, channel)
    setups = []
    for kind in AlertChannel:
        if (db := first.get(kind.value)) is not None:
            setups.append(ChannelSetup(kind.value, DATABASE, db.name, db.id, _masked(db.config)))
        elif (env := environment.get(kind.value)) is not None:
            setups.append(
                ChannelSetup(kind.value, ENVIRONMENT, "CERTCTL_* variables", None, _masked(env))
            )
        else:
            setups.append(ChannelSetup(kind.value, ""))
    return tuple(setups)


def _recipient(setup: ChannelSetup, emails: Sequence[str]) -> str:
    """Who a channel reaches: e-mail addresses for Email, the endpoint for the others."""
    if setup.channel == AlertChannel.EMAIL.value:
        return ", ".join(emails)
    config = setup.config or {}
    target = config.get("channel") or config.get("url") or config.get("api_url") or ""
    label = setup.name if setup.source == DATABASE else f"{setup.channel} ({setup.source})"
    return (
        f"{label}: {target}" if target and setup.configured else label if setup.configured else ""
    )


def _step(setup: ChannelSetup | None, channel: str, emails: Sequence[str]) -> RouteStep:
    if setup is None:
        return RouteStep(channel, "", "", f"unknown channel {channel!r}")
    recipient = _recipient(setup, emails)
    if not setup.configured:
        # The dispatcher's own words for the skip it will record.
        why = f"channel {channel} is not configured"
        return RouteStep(channel, recipient, "", why)
    if channel == AlertChannel.EMAIL.value and not emails:
        return RouteStep(
            channel, "", setup.source, "no recipient: the certificate has no owner email"
        )
    return RouteStep(channel, recipient, setup.source)


def route_rows(
    policy: RenewalPolicy | None, setups: Sequence[ChannelSetup], emails: Sequence[str]
) -> tuple[RouteRow, ...]:
    """Each threshold of `policy` with its tier and a step per channel of that tier."""
    by_channel = {s.channel: s for s in setups}
    matrix = effective_alert_channels(policy)
    rows = []
    for threshold in effective_thresholds(policy):
        tier = effective_alert_severity(policy, threshold)
        steps = tuple(_step(by_channel.get(c), c, emails) for c in matrix.get(tier, ()))
        rows.append(RouteRow(threshold, tier, steps))
    return tuple(rows)


async def alert_route(
    runtime: Runtime, settings: Settings, caller: Caller, certificate_id: str
) -> AlertRoute:
    """The route the expiry scan would follow for this certificate, as configured now."""
    setups = await channel_setups(runtime, settings, caller)
    async with runtime.db.uow() as uow:
        cert = await uow.certificates.require(certificate_id)
        policy = await uow.policies.get(cert.renewal_policy_id) if cert.renewal_policy_id else None
        owner: Owner | None = await uow.owners.get(cert.owner_id) if cert.owner_id else None
        team = await uow.teams.get(cert.team_id) if cert.team_id else None
    owner_email = owner.email if owner else ""
    emails = tuple(
        dict.fromkeys([*([owner_email] if owner_email else []), *settings.extra_recipients()])
    )
    return AlertRoute(
        certificate_id=cert.id,
        policy_id=policy.id if policy else None,
        policy_name=policy.name if policy else "default policy",
        owner_name=owner.name if owner else "",
        owner_email=owner_email,
        team_name=team.name if team else "",
        rows=route_rows(policy, setups, emails),
    )
