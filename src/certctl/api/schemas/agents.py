"""Schemas of the agent protocol: registration, heartbeat, work, CSR, certificate, job report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from certctl.api.schemas.common import In, Line, Name, Out, ResourceId
from certctl.domain.agents import MAX_ADDRESSES, HeartbeatFacts, ReportedStatus
from certctl.domain.jobs import JobStatus, JobType

Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class HeartbeatIn(In):
    """What an agent says about its host, on every heartbeat."""

    version: Annotated[Line, Field(max_length=64)] = ""
    hostname: Annotated[Line, Field(max_length=255)] = ""
    os: Annotated[Line, Field(max_length=64)] = ""
    arch: Annotated[Line, Field(max_length=64)] = ""
    addresses: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=MAX_ADDRESSES
    )

    def facts(self) -> HeartbeatFacts:
        """The validated domain facts."""
        return HeartbeatFacts(
            version=self.version,
            hostname=self.hostname,
            os=self.os,
            arch=self.arch,
            addresses=tuple(self.addresses),
        )


class RegisterIn(HeartbeatIn):
    """A new agent: its name and host facts (the bootstrap token goes in Authorization)."""

    name: Name


class RegisterOut(Out):
    """The agent's id and its credential, shown this once."""

    agent_id: str
    credential: str
    heartbeat_interval_seconds: int = 60
    poll_interval_seconds: int = 30


class HeartbeatOut(Out):
    """The agent as the server now sees it."""

    agent_id: str
    status: str
    last_heartbeat_at: datetime | None


class CsrWorkOut(Out):
    """An issuing job waiting for the agent's key and CSR."""

    job_id: str
    certificate_id: str
    common_name: str
    sans: list[str]
    key_spec: str = Field(description="ECDSA-P256, ECDSA-P384, RSA-2048/3072/4096 or Ed25519.")


class DeployWorkOut(Out):
    """A deployment to run: the certificate's current version onto one target."""

    job_id: str
    certificate_id: str
    version_id: str
    fingerprint_sha256: str
    target_id: str
    target_type: str
    target_config: dict[str, Any]


class WorkOut(Out):
    """The agent's leased work."""

    csr_jobs: list[CsrWorkOut]
    deployments: list[DeployWorkOut]


class CsrIn(In):
    """The agent's CSR for one of its AwaitingCSR jobs."""

    job_id: ResourceId
    csr_pem: str = Field(min_length=1, max_length=65536)


class IssuedOut(Out):
    """The version issued from the agent's CSR, or, for a remote CA, the job that will order it.

    A local CA signs at once (200, every field set); a remote CA's order runs in the job
    processor (202, `queued` true and the version fields null until the job completes).
    """

    job_id: str
    certificate_id: str
    queued: bool = False
    version_id: str | None
    serial_number: str | None
    fingerprint_sha256: str | None
    not_after: datetime | None


class AgentCertificateOut(Out):
    """The current version of a certificate: leaf and chain PEM, never a key."""

    certificate_id: str
    version_id: str
    serial_number: str
    fingerprint_sha256: str
    not_after: datetime
    cert_pem: str
    chain_pem: str


class JobReportIn(In):
    """What the agent says about one of its jobs."""

    status: ReportedStatus
    reason: Annotated[str, Field(max_length=2000)] | None = None
    served_sha256: Fingerprint | None = None


class JobReportOut(Out):
    """The job after the report."""

    id: str
    type: JobType
    status: JobStatus
    last_error: str | None
