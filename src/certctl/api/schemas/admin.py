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
    body_sha256: str | None = Field(description="Hex SHA-256 of the request body of a write.")
    latency_ms: float | None = Field(description="Milliseconds from request arrival to record.")
    prev_hash: str = Field(description="row_hash of the previous row (C11 hash chain).")
    row_hash: str = Field(description="SHA-256 of this row's canonical content and prev_hash.")


class ChainBreakOut(Out):
    """The first broken link of the audit chain."""

    kind: str = Field(description="content_changed, link_broken or head_mismatch.")
    seq: int | None
    event_id: str | None
    detail: str


class AuditVerifyOut(Out):
    """The result of verifying the whole audit hash chain."""

    intact: bool
    rows_checked: int
    head_hash: str
    first_break: ChainBreakOut | None


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
