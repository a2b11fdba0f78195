"""Schemas of the audit trail, API keys and the stats summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from certctl import __version__
from certctl.api.schemas.common import In, Name, Out
from certctl.domain.access import ActorType, Role
from certctl.domain.audit import AuditStatus


class AuditEventOut(Out):
    """One audit row."""

    id: str
    occurred_at: datetime
    actor: str
    actor_type: ActorType
    action: str
    resource_type: str
    resource_id: str
    status: AuditStatus
    details: dict[str, Any]
    request_id: str | None


class ApiKeyIn(In):
    """A new stored API key."""

    name: Name
    role: Role = Role.OPERATOR


class ApiKeyOut(Out):
    """A stored API key (never its hash)."""

    id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    """A new key, with the secret shown this once."""

    key: str = Field(description="The API key; it is not stored and cannot be shown again.")


class SummaryOut(Out):
    """Dashboard summary."""

    total_certificates: int
    certificates_by_status: dict[str, int]
    expiring_in_30_days: int
    agents_total: int
    agents_online: int
    jobs_by_status: dict[str, int]
    notifications_dead: int


class Health(BaseModel):
    """Probe answer."""

    status: str
    detail: str = ""
    version: str = Field(default=__version__, description="The certctl version serving.")
