"""The inventory resources: ids, validation, references and input shaping for each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certctl.connectors.issuers.registry import check_issuer_type, validate_issuer_config
from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller
from certctl.domain.inventory import (
    AgentGroup,
    DeploymentTarget,
    Issuer,
    Owner,
    TargetType,
    Team,
    check_agent_group,
    check_email,
)
from certctl.domain.notifications import NotificationChannel
from certctl.domain.policies import (
    CertificateProfile,
    KeyAlgorithmRule,
    RenewalPolicy,
    check_policy,
    check_profile,
)
from certctl.domain.targets import parse_target_config
from certctl.domain.thresholds import key_of
from certctl.services.controls import guard_policy, guard_profile
from certctl.services.inventory import AfterCreate, ResourceSpec
from certctl.services.notifications import check_channel_type, validate_channel_config
from certctl.services.pki import provision_issuer_ca
from certctl.services.runtime import Runtime
from certctl.services.secrets import reveal_config, split_config


def _freeze(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}


def _plain(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    return _freeze(fields)


def _owner(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    if "email" in fields:
        check_email(fields["email"])
    return fields


def _profile(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    values = _freeze(fields)
    if "allowed_key_algorithms" in values:
        values["allowed_key_algorithms"] = tuple(
            KeyAlgorithmRule(r["algorithm"], int(r.get("min_size", 0)))
            for r in values["allowed_key_algorithms"]
        )
    return values


def _policy(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    values = _freeze(fields)
    if values.get("alert_channels") is not None:
        matrix: Mapping[str, list[str]] = values["alert_channels"]
        values["alert_channels"] = {str(t): tuple(c) for t, c in matrix.items()}
    elif "alert_channels" in values:
        values["alert_channels"] = {}
    if values.get("alert_severity_map") is not None:
        values["alert_severity_map"] = {
            key_of(k): v for k, v in values["alert_severity_map"].items()
        }
    elif "alert_severity_map" in values:
        values["alert_severity_map"] = {}
    return values


def _sealed(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    if "config" not in fields:
        return fields
    public, sealed = split_config(
        fields["config"] or {},
        previous_sealed=getattr(existing, "sealed_secrets", None),
        sealer=runtime.sealer,
    )
    return {**fields, "config": public, "sealed_secrets": sealed}


TEAMS = ResourceSpec(
    resource_type="team",
    id_prefix="t",
    domain_cls=Team,
    repository=lambda uow: uow.teams,
    prepare=_plain,
)
OWNERS = ResourceSpec(
    resource_type="owner",
    id_prefix="o",
    domain_cls=Owner,
    repository=lambda uow: uow.owners,
    references={"team_id": "teams"},
    prepare=_owner,
)
PROFILES = ResourceSpec(
    resource_type="certificate_profile",
    id_prefix="cp",
    domain_cls=CertificateProfile,
    repository=lambda uow: uow.profiles,
    check=check_profile,
    prepare=_profile,
    guard=guard_profile,
)
POLICIES = ResourceSpec(
    resource_type="renewal_policy",
    id_prefix="rp",
    domain_cls=RenewalPolicy,
    repository=lambda uow: uow.policies,
    check=check_policy,
    references={"certificate_profile_id": "profiles", "agent_group_id": "agent_groups"},
    prepare=_policy,
    guard=guard_policy,
)


def _issuer(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    """Refuse a type without a connector and a config its type does not accept (fail early)."""
    kind = check_issuer_type(str(fields.get("type") or getattr(existing, "type", "")))
    values = _sealed(runtime, fields, existing)
    if "config" in values:
        revealed = reveal_config(values["config"], values.get("sealed_secrets"), runtime.sealer)
        validate_issuer_config(kind, revealed)
    return values


def issuers_spec(reach: AfterCreate) -> ResourceSpec[Issuer]:
    """Issuers: validated per type; `reach` runs once the row exists, on create and update,
    so an unreachable CA is refused before any job depends on it."""

    async def after_create(runtime: Runtime, uow: UnitOfWork, caller: Caller, obj: Any) -> None:
        await provision_issuer_ca(runtime, uow, caller, obj)
        await reach(runtime, uow, caller, obj)

    return ResourceSpec(
        resource_type="issuer",
        id_prefix="iss",
        domain_cls=Issuer,
        repository=lambda uow: uow.issuers,
        prepare=_issuer,
        after_create=after_create,
        after_update=reach,
    )


def _target(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    """Refuse a config its type cannot deploy with, naming `config.<key>` (C7: commands with
    shell metacharacters are refused here and again on the agent)."""
    kind = TargetType(str(fields.get("type") or getattr(existing, "type", "")))
    if "config" in fields:
        parse_target_config(kind, fields["config"] or {})
    return _sealed(runtime, fields, existing)


TARGETS = ResourceSpec(
    resource_type="deployment_target",
    id_prefix="tgt",
    domain_cls=DeploymentTarget,
    repository=lambda uow: uow.targets,
    references={"agent_id": "agents"},
    prepare=_target,
)
AGENT_GROUPS = ResourceSpec(
    resource_type="agent_group",
    id_prefix="ag",
    domain_cls=AgentGroup,
    repository=lambda uow: uow.agent_groups,
    check=check_agent_group,
    list_references={"member_agent_ids": "agents"},
    prepare=_plain,
)


def _channel(runtime: Runtime, fields: dict[str, Any], existing: Any | None) -> dict[str, Any]:
    channel = str(fields.get("channel") or getattr(existing, "channel", ""))
    check_channel_type(channel)
    if "config" not in fields:
        return fields
    previous = getattr(existing, "sealed_secrets", None)
    public, sealed = split_config(
        fields["config"] or {}, previous_sealed=previous, sealer=runtime.sealer
    )
    validate_channel_config(channel, reveal_config(public, sealed, runtime.sealer))
    return {**fields, "config": public, "sealed_secrets": sealed}


NOTIFICATION_CHANNELS = ResourceSpec(
    resource_type="notification_channel",
    id_prefix="nc",
    domain_cls=NotificationChannel,
    repository=lambda uow: uow.channels,
    prepare=_channel,
)
