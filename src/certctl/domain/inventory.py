"""Teams, owners, issuers, deployment targets, agents and agent groups (C1)."""

from __future__ import annotations

import enum
import functools
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from certctl.domain.access import Role
from certctl.errors import InvalidRequest

SECRET_MASK = "********"  # noqa: S105 - the mask shown instead of a secret
_SECRET_KEY = re.compile(
    r"(secret|password|passwd|passphrase|token|private_key|api_key|apikey|hmac|credential|"
    r"routing_key|genie_key|webhook_url)",
    re.I,
)
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


@functools.lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """Tell whether a config field holds a secret, judged by its name (the few names in use
    are asked again for every redacted value, hence the cache)."""
    return bool(_SECRET_KEY.search(name))


def check_email(value: str, *, field: str = "email") -> str:
    """Accept one plain address (no display name, no header-breaking characters)."""
    if not _EMAIL.fullmatch(value) or len(value) > 254:
        raise InvalidRequest(f"{value!r} is not a valid email address", field=field)
    return value


class IssuerType(enum.StrEnum):
    """Issuer connector kinds (C5)."""

    GENERIC_CA = "GenericCA"
    ACME = "ACME"
    VAULT_PKI = "VaultPKI"
    STEP_CA = "StepCA"
    OPENSSL = "OpenSSL"


class TargetType(enum.StrEnum):
    """Deployment target kinds (C7)."""

    NGINX = "NGINX"
    APACHE = "Apache"
    HAPROXY = "HAProxy"
    TRAEFIK = "Traefik"
    CADDY = "Caddy"
    ENVOY = "Envoy"
    POSTFIX = "Postfix"
    DOVECOT = "Dovecot"
    FILE = "File"


class AgentStatus(enum.StrEnum):
    """Agent liveness as last seen."""

    ONLINE = "Online"
    OFFLINE = "Offline"
    DEGRADED = "Degraded"


@dataclass(frozen=True)
class Team:
    """A group of people that owns certificates."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    description: str = ""


@dataclass(frozen=True)
class Owner:
    """A person (or mailbox) answerable for certificates."""

    id: str
    name: str
    email: str
    created_at: datetime
    updated_at: datetime
    team_id: str | None = None
    digest: str = "off"
    """off, daily or weekly: whether the owner gets a digest of what needs action."""


@dataclass(frozen=True)
class Issuer:
    """A configured CA connector; `config` holds masks where secrets were."""

    id: str
    name: str
    type: IssuerType
    created_at: datetime
    updated_at: datetime
    config: Mapping[str, Any] = field(default_factory=dict)
    sealed_secrets: str | None = None
    enabled: bool = True
    test_status: str = "untested"
    last_tested_at: datetime | None = None


@dataclass(frozen=True)
class DeploymentTarget:
    """A place an agent deploys certificates to."""

    id: str
    name: str
    type: TargetType
    created_at: datetime
    updated_at: datetime
    agent_id: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    sealed_secrets: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Agent:
    """A registered agent process on a host that keeps its keys."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    hostname: str = ""
    os: str = ""
    arch: str = ""
    ip_address: str = ""
    version: str = ""
    status: AgentStatus = AgentStatus.OFFLINE
    last_heartbeat_at: datetime | None = None
    credential_hash: str | None = None
    retired_at: datetime | None = None
    retired_reason: str | None = None
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentGroup:
    """Agents selected by attributes (os, arch, CIDR, version) plus manual members."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    match_os: str | None = None
    match_arch: str | None = None
    match_ip_cidr: str | None = None
    match_version: str | None = None
    member_agent_ids: tuple[str, ...] = ()


def check_agent_group(group: AgentGroup) -> None:
    """Refuse a group whose CIDR does not parse."""
    if group.match_ip_cidr:
        try:
            ipaddress.ip_network(group.match_ip_cidr, strict=False)
        except ValueError as exc:
            raise InvalidRequest(f"invalid CIDR: {exc}", field="match_ip_cidr") from exc


@dataclass(frozen=True)
class ApiKey:
    """A named API credential; only its hash is stored."""

    id: str
    name: str
    role: Role
    key_hash: str
    created_at: datetime
    created_by: str = ""
    revoked_at: datetime | None = None
