"""Per-team and per-owner routing overrides: stored sealed, applied at delivery, explained (C3).

`effective_route` answers "who gets paged for this certificate, and why": per tier of its
policy, each channel with its destination (secrets masked) and whether a team's or owner's
override or the matrix cell's channel configuration decides it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from certctl.connectors.notifiers.base import Notifier
from certctl.domain.access import Caller
from certctl.domain.inventory import SECRET_MASK, is_secret_key
from certctl.domain.policies import (
    AlertChannel,
    SeverityTier,
    effective_alert_channels,
)
from certctl.domain.route_overrides import RouteOverride, check_override, pick
from certctl.errors import CertctlError, InvalidRequest
from certctl.services import routing
from certctl.services.inventory import ResourceSpec
from certctl.services.runtime import Runtime
from certctl.services.secrets import reveal_config, split_config
from certctl.settings import Settings


def _prepare(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    channel = str(fields.get("channel") or getattr(existing, "channel", ""))
    if channel not in {c.value for c in AlertChannel}:
        allowed = ", ".join(c.value for c in AlertChannel)
        raise InvalidRequest(f"unknown channel {channel!r}; allowed: {allowed}", field="channel")
    if "config" not in fields:
        return fields
    previous = getattr(existing, "sealed_secrets", None)
    public, sealed = split_config(
        fields["config"] or {}, previous_sealed=previous, sealer=runtime.sealer
    )
    return {**fields, "config": public, "sealed_secrets": sealed}


ROUTE_OVERRIDES = ResourceSpec(
    resource_type="route_override",
    id_prefix="ro",
    domain_cls=RouteOverride,
    repository=lambda uow: uow.route_overrides,
    check=check_override,
    references={"team_id": "teams", "owner_id": "owners"},
    prepare=_prepare,
)


def revealed(overrides: Sequence[RouteOverride], runtime: Runtime) -> list[RouteOverride]:
    """Overrides with their secrets opened, for delivery only."""
    return [
        RouteOverride(
            **{
                **vars(o),
                "config": reveal_config(o.config, o.sealed_secrets, runtime.sealer),
                "sealed_secrets": None,
            }
        )
        for o in overrides
    ]


class RoutedNotifiers:
    """The notifier of each override used in one dispatch tick, built on first use."""

    def __init__(
        self,
        build: Callable[[str, Mapping[str, Any]], Notifier],
        configs: Mapping[str, Mapping[str, Any]],
        notifiers: Mapping[str, Notifier | str],
    ) -> None:
        self.build = build
        self.configs = configs
        self.notifiers = notifiers
        self._built: dict[str, Notifier | str] = {}

    def of(self, route: RouteOverride) -> tuple[Notifier | str | None, tuple[str, ...] | None]:
        """The notifier for `route` and, for Email, the recipients it sends to instead."""
        if route.channel == AlertChannel.EMAIL.value:
            recipients = tuple(str(r) for r in route.config.get("recipients", ()))
            return self.notifiers.get(route.channel), recipients
        if route.id not in self._built:
            merged = {**self.configs.get(route.channel, {}), **route.config}
            try:
                self._built[route.id] = self.build(route.channel, merged)
            except CertctlError as exc:
                self._built[route.id] = (
                    f"route override {route.name!r} is misconfigured: {exc.detail}"
                )
        return self._built[route.id], None


@dataclass(frozen=True)
class RouteChannel:
    """One channel of one tier: where it delivers and what decides it."""

    channel: str
    destination: str
    decided_by: str
    why: str
    override_id: str | None = None


@dataclass(frozen=True)
class TierRoute:
    """One tier of a certificate's policy and its channels (none = the tier opted out)."""

    tier: str
    thresholds: tuple[int | str, ...]
    channels: tuple[RouteChannel, ...]


@dataclass(frozen=True)
class EffectiveRoute:
    """Who gets paged for a certificate per tier, and why."""

    certificate_id: str
    policy_id: str | None
    policy_name: str
    owner_id: str | None
    team_id: str | None
    tiers: tuple[TierRoute, ...]


def masked_destination(channel: str, config: Mapping[str, Any]) -> str:
    """A channel's destination for people: addresses and URLs shown, secrets masked."""
    if channel == AlertChannel.EMAIL.value:
        return ", ".join(str(r) for r in config.get("recipients", ()))
    parts = []
    for key in ("webhook_url", "url", "routing_key", "api_key", "channel", "responders"):
        if (value := config.get(key)) is not None:
            shown = SECRET_MASK if is_secret_key(key) else value
            parts.append(f"{key}={shown}")
    return ", ".join(parts)


def _matrix_channel(
    channel: str, tier: str, setup: routing.ChannelSetup | None, emails: Sequence[str], policy: str
) -> RouteChannel:
    cell = f"matrix cell {tier} → {channel} of {policy}"
    if setup is None or not setup.configured:
        return RouteChannel(channel, "", "matrix", f"{cell}; channel {channel} is not configured")
    if channel == AlertChannel.EMAIL.value:
        return RouteChannel(channel, ", ".join(emails), "matrix", f"{cell}; owner's e-mail")
    where = setup.name if setup.source == routing.DATABASE else "CERTCTL_* variables"
    destination = masked_destination(channel, setup.config or {})
    return RouteChannel(channel, destination, "matrix", f"{cell}; configured by {where}")


def _override_channel(channel: str, tier: str, override: RouteOverride) -> RouteChannel:
    tiers = f"tier {override.tier}" if override.tier else "every tier"
    why = f"override {override.name!r} of {override.scope} ({tiers}) replaces the {channel} destination"
    return RouteChannel(
        channel, masked_destination(channel, override.config), "override", why, override.id
    )


async def effective_route(
    runtime: Runtime, settings: Settings, caller: Caller, certificate_id: str
) -> EffectiveRoute:
    """Per tier of the certificate's policy: each channel's destination and its reason."""
    setups = {s.channel: s for s in await routing.channel_setups(runtime, settings, caller)}
    async with runtime.db.uow() as uow:
        cert = await uow.certificates.require(certificate_id)
        policy = await uow.policies.get(cert.renewal_policy_id) if cert.renewal_policy_id else None
        owner = await uow.owners.get(cert.owner_id) if cert.owner_id else None
        overrides = await uow.gates.enabled_overrides()
    route = await routing.alert_route(runtime, settings, caller, certificate_id)
    emails = [e for e in [owner.email if owner else "", *settings.extra_recipients()] if e]
    matrix = effective_alert_channels(policy)
    policy_label = f"policy {policy.id}" if policy else "the default policy"
    tiers = []
    for tier in SeverityTier:
        channels = []
        for channel in matrix.get(tier.value, ()):
            found = pick(
                overrides,
                channel=channel,
                tier=tier.value,
                owner_id=cert.owner_id,
                team_id=cert.team_id,
            )
            channels.append(
                _override_channel(channel, tier.value, found)
                if found is not None
                else _matrix_channel(channel, tier.value, setups.get(channel), emails, policy_label)
            )
        thresholds = tuple(r.threshold for r in route.rows if r.tier == tier.value)
        tiers.append(TierRoute(tier.value, thresholds, tuple(channels)))
    return EffectiveRoute(
        certificate_id=cert.id,
        policy_id=policy.id if policy else None,
        policy_name=route.policy_name,
        owner_id=cert.owner_id,
        team_id=cert.team_id,
        tiers=tuple(tiers),
    )
