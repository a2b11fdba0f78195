"""Repositories of the inventory aggregates: teams, owners, policies, profiles, issuers, ..."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import (
    AgentGroupRow,
    AgentRow,
    ApiKeyRow,
    CertificateProfileRow,
    DeploymentTargetRow,
    IssuerRow,
    OwnerRow,
    RenewalPolicyRow,
    TeamRow,
)
from certctl.db.repositories.base import Codec, Repository
from certctl.domain.access import Role
from certctl.domain.inventory import (
    Agent,
    AgentGroup,
    AgentStatus,
    ApiKey,
    DeploymentTarget,
    Issuer,
    IssuerType,
    Owner,
    TargetType,
    Team,
)
from certctl.domain.policies import CertificateProfile, KeyAlgorithmRule, RenewalPolicy
from certctl.domain.thresholds import Threshold, key_of


def _key_rules(value: list[Mapping[str, Any]]) -> tuple[KeyAlgorithmRule, ...]:
    return tuple(KeyAlgorithmRule(str(r["algorithm"]), int(r.get("min_size", 0))) for r in value)


def _matrix(value: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {str(tier): tuple(channels) for tier, channels in value.items()}


def _severity_map(value: Mapping[str, str]) -> dict[Threshold, str]:
    return {key_of(threshold): str(tier) for threshold, tier in value.items()}


TEAM = Codec(Team)
OWNER = Codec(Owner)
PROFILE = Codec(CertificateProfile, {"allowed_key_algorithms": _key_rules})
POLICY = Codec(
    RenewalPolicy,
    {"alert_channels": _matrix, "alert_severity_map": _severity_map},
)
ISSUER = Codec(Issuer, {"type": IssuerType, "config": dict})
TARGET = Codec(DeploymentTarget, {"type": TargetType, "config": dict})
AGENT = Codec(Agent, {"status": AgentStatus})
AGENT_GROUP = Codec(AgentGroup)
API_KEY = Codec(ApiKey, {"role": Role})


def teams(session: AsyncSession) -> Repository[Team]:
    """Repository of teams."""
    return Repository(session, TeamRow, TEAM, "team", ("name", "description"))


def owners(session: AsyncSession) -> Repository[Owner]:
    """Repository of owners."""
    return Repository(session, OwnerRow, OWNER, "owner", ("name", "email"))


def profiles(session: AsyncSession) -> Repository[CertificateProfile]:
    """Repository of certificate profiles."""
    return Repository(session, CertificateProfileRow, PROFILE, "certificate_profile")


def policies(session: AsyncSession) -> Repository[RenewalPolicy]:
    """Repository of renewal policies."""
    return Repository(session, RenewalPolicyRow, POLICY, "renewal_policy")


def issuers(session: AsyncSession) -> Repository[Issuer]:
    """Repository of issuers."""
    return Repository(session, IssuerRow, ISSUER, "issuer")


def targets(session: AsyncSession) -> Repository[DeploymentTarget]:
    """Repository of deployment targets."""
    return Repository(session, DeploymentTargetRow, TARGET, "deployment_target")


def agents(session: AsyncSession) -> Repository[Agent]:
    """Repository of agents."""
    return Repository(session, AgentRow, AGENT, "agent", ("name", "hostname"))


def agent_groups(session: AsyncSession) -> Repository[AgentGroup]:
    """Repository of agent groups."""
    return Repository(session, AgentGroupRow, AGENT_GROUP, "agent_group")


class ApiKeyRepository(Repository[ApiKey]):
    """API keys, looked up by the hash of the presented key."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, ApiKeyRow, API_KEY, "api_key")

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        """The key whose stored hash is `key_hash`, or None."""
        row = await self.session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash))
        return None if row is None else self.decode(row)
