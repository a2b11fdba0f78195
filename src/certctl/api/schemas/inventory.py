"""Schemas of teams, owners, issuers, deployment targets and agent groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from certctl.api.schemas.common import Description, In, Line, Name, Out, ResourceId
from certctl.domain.inventory import IssuerType, TargetType


class TeamIn(In):
    """A new team."""

    id: ResourceId | None = Field(default=None, description="Optional; `t-<ulid>` if omitted.")
    name: Name
    description: Description = ""


class TeamPatch(In):
    """Fields of a team to change."""

    name: Name | None = None
    description: Description | None = None


class TeamOut(Out):
    """A team."""

    id: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


DigestChoice = Literal["off", "daily", "weekly"]
_DIGEST_DOC = (
    "A digest of open critical alerts, failed renewals and pending approvals, e-mailed at "
    "08:00 UTC every day (daily) or every Monday (weekly); off by default."
)


class OwnerIn(In):
    """A new owner."""

    id: ResourceId | None = None
    name: Name
    email: Line = Field(max_length=254)
    team_id: ResourceId | None = None
    digest: DigestChoice = Field(default="off", description=_DIGEST_DOC)


class OwnerPatch(In):
    """Fields of an owner to change."""

    name: Name | None = None
    email: Line | None = Field(default=None, max_length=254)
    team_id: ResourceId | None = None
    digest: DigestChoice | None = Field(default=None, description=_DIGEST_DOC)


class OwnerOut(Out):
    """An owner."""

    id: str
    name: str
    email: str
    team_id: str | None
    digest: str
    created_at: datetime
    updated_at: datetime


class IssuerIn(In):
    """A new issuer; secret config fields are sealed at rest and answered as `********`."""

    id: ResourceId | None = None
    name: Name
    type: IssuerType
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class IssuerPatch(In):
    """Fields of an issuer to change; a secret sent as `********` keeps its stored value."""

    name: Name | None = None
    config: dict[str, Any] | None = None
    enabled: bool | None = None


class IssuerOut(Out):
    """An issuer with its secrets masked."""

    id: str
    name: str
    type: IssuerType
    config: dict[str, Any]
    enabled: bool
    test_status: str
    last_tested_at: datetime | None
    created_at: datetime
    updated_at: datetime


TARGET_CONFIG = (
    "Files and commands per target type, checked when saved: `cert_path`, `key_path`, "
    "`chain_path`, `pem_path` (HAProxy), `validate_command` and `reload_command` (argument "
    "lists without shell metacharacters), `command_timeout_seconds`, `verify_endpoint`, "
    "`verify_server_name`, `rollback_on_verify_failure`, `backups`, `owner`, `group`, `mode`. "
    "See docs/agents.md."
)


class TargetIn(In):
    """A new deployment target."""

    id: ResourceId | None = None
    name: Name
    type: TargetType
    agent_id: ResourceId | None = None
    config: dict[str, Any] = Field(default_factory=dict, description=TARGET_CONFIG)
    enabled: bool = True


class TargetPatch(In):
    """Fields of a deployment target to change."""

    name: Name | None = None
    agent_id: ResourceId | None = None
    config: dict[str, Any] | None = Field(default=None, description=TARGET_CONFIG)
    enabled: bool | None = None


class TargetOut(Out):
    """A deployment target with its secrets masked."""

    id: str
    name: str
    type: TargetType
    agent_id: str | None
    config: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class AgentGroupIn(In):
    """A new agent group."""

    id: ResourceId | None = None
    name: Name
    description: Description = ""
    match_os: str | None = Field(default=None, max_length=64)
    match_arch: str | None = Field(default=None, max_length=64)
    match_ip_cidr: str | None = Field(default=None, max_length=64)
    match_version: str | None = Field(default=None, max_length=64)
    member_agent_ids: list[ResourceId] = Field(default_factory=list, max_length=10000)


class AgentGroupPatch(In):
    """Fields of an agent group to change."""

    name: Name | None = None
    description: Description | None = None
    match_os: str | None = Field(default=None, max_length=64)
    match_arch: str | None = Field(default=None, max_length=64)
    match_ip_cidr: str | None = Field(default=None, max_length=64)
    match_version: str | None = Field(default=None, max_length=64)
    member_agent_ids: list[ResourceId] | None = Field(default=None, max_length=10000)


class AgentGroupOut(Out):
    """An agent group."""

    id: str
    name: str
    description: str
    match_os: str | None
    match_arch: str | None
    match_ip_cidr: str | None
    match_version: str | None
    member_agent_ids: list[str]
    created_at: datetime
    updated_at: datetime


class IssuerTestOut(Out):
    """The outcome of `POST /issuers/{id}/test`."""

    ok: bool
    detail: str
    issuer: IssuerOut
