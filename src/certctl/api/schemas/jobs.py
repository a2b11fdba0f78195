"""Schemas of jobs, approvals, bulk operations and agents."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from certctl.api.schemas.common import In, Line, Out, ResourceId
from certctl.domain.certificates import CertificateStatus
from certctl.domain.inventory import AgentStatus
from certctl.domain.jobs import BULK_LIMIT, JobStatus, JobType


class JobOut(Out):
    """A job."""

    id: str
    type: JobType
    certificate_id: str
    target_id: str | None
    agent_id: str | None
    status: JobStatus
    attempts: int
    max_attempts: int
    last_error: str | None
    requested_by: str
    approved_by: str | None
    decision_reason: str | None
    scheduled_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DecisionIn(In):
    """An optional reason for an approval or a cancellation."""

    reason: str | None = Field(default=None, max_length=1000)


class RejectIn(In):
    """Why a job is rejected (required)."""

    reason: str = Field(max_length=1000)


class BulkIn(In):
    """Which certificates: explicit ids and/or criteria (at least one of them)."""

    certificate_ids: list[ResourceId] = Field(default_factory=list, max_length=BULK_LIMIT)
    status: list[CertificateStatus] = Field(default_factory=list, max_length=8)
    environment: Line | None = Field(default=None, max_length=64)
    owner_id: ResourceId | None = None
    team_id: ResourceId | None = None
    issuer_id: ResourceId | None = None
    q: Line | None = Field(default=None, max_length=200)


class BulkRevokeIn(BulkIn):
    """Bulk revocation: the criteria plus the RFC 5280 reason (empty = unspecified)."""

    reason: str = Field(default="", max_length=64)


class BulkErrorOut(Out):
    """One certificate a bulk operation could not handle."""

    certificate_id: str
    detail: str


class BulkOut(Out):
    """Summary of a bulk operation."""

    total_matched: int
    total_enqueued: int
    total_skipped: int
    total_failed: int
    errors: list[BulkErrorOut]


class AgentOut(Out):
    """A registered agent."""

    id: str
    name: str
    hostname: str
    os: str
    arch: str
    ip_address: str
    version: str
    status: AgentStatus
    last_heartbeat_at: datetime | None
    retired_at: datetime | None
    retired_reason: str | None
    addresses: list[str] = []
    created_at: datetime
    updated_at: datetime


class RetireIn(In):
    """Why an agent is retired (required)."""

    reason: str = Field(max_length=1000)


class DeployOut(Out):
    """The Deployment jobs queued (targets with one already open are skipped)."""

    jobs: list[JobOut]
