"""Schemas of discovered certificates, network scans and drift (C8)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from certctl.api.schemas.certificates import CertificateOut, VersionOut
from certctl.api.schemas.common import In, Line, Out, ResourceId
from certctl.domain.discovery import (
    MAX_SCAN_PORTS,
    MAX_SCAN_TARGETS,
    CertificateFormat,
    DiscoveredFile,
    DiscoverySource,
    DiscoveryStatus,
    ScanStatus,
)
from certctl.domain.drift import DriftKind


class DiscoveredFileIn(In):
    """One certificate an agent found in a file (several per PEM bundle)."""

    path: str = Field(min_length=1, max_length=1024)
    index: int = Field(default=0, ge=0, le=10_000)
    fingerprint_sha256: str = Field(pattern="^[0-9a-f]{64}$")
    common_name: str = Field(default="", max_length=255)
    sans: list[str] = Field(default_factory=list, max_length=1000)
    subject_dn: str = Field(default="", max_length=4000)
    issuer_dn: str = Field(default="", max_length=4000)
    serial_number: str = Field(min_length=1, max_length=64)
    not_before: datetime
    not_after: datetime
    key_algorithm: str = Field(default="", max_length=32)
    key_size: int = Field(default=0, ge=0, le=65536)
    is_ca: bool = False
    format: CertificateFormat = CertificateFormat.PEM
    pem: str = Field(default="", max_length=65536, description="The certificate alone, PEM.")

    def to_domain(self) -> DiscoveredFile:
        """The domain value the service records."""
        return DiscoveredFile(**{**self.model_dump(), "sans": tuple(self.sans)})


class DiscoveryReportIn(In):
    """An agent's filesystem discovery report."""

    items: list[DiscoveredFileIn] = Field(max_length=10_000)


class ReportOut(Out):
    """What a report changed."""

    received: int
    new: int
    refreshed: int


class DiscoveryOut(Out):
    """A discovered certificate and its triage state."""

    id: str
    source: DiscoverySource
    status: DiscoveryStatus
    agent_id: str | None
    scan_id: str | None
    location: str
    index_in_file: int
    fingerprint_sha256: str
    common_name: str
    sans: list[str]
    subject_dn: str
    issuer_dn: str
    serial_number: str
    not_before: datetime
    not_after: datetime
    key_algorithm: str
    key_size: int
    is_ca: bool
    format: str
    managed_certificate_id: str | None
    dismissed_reason: str | None
    triaged_by: str | None
    triaged_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime


class EndpointOut(Out):
    """A TLS endpoint a scan found."""

    id: str
    scan_id: str
    host: str
    port: int
    server_name: str | None
    leaf_fingerprint_sha256: str
    discovery_id: str | None
    discovered_at: datetime
    chain_pem: str


class DiscoveryDetailOut(DiscoveryOut):
    """One discovery with its PEM and the endpoints that served it."""

    pem: str
    endpoints: list[EndpointOut]


class ClaimIn(In):
    """Who will own the certificate once it is managed."""

    name: Line | None = Field(default=None, min_length=1, max_length=255)
    owner_id: ResourceId | None = None
    team_id: ResourceId | None = None
    renewal_policy_id: ResourceId | None = None
    certificate_profile_id: ResourceId | None = None
    issuer_id: ResourceId | None = None
    environment: Line | None = Field(default=None, max_length=64)


class ClaimOut(Out):
    """The managed certificate a claim created, its first version and the discovery."""

    certificate: CertificateOut
    version: VersionOut
    discovery: DiscoveryOut


class DismissIn(In):
    """Why a discovery is not to be managed."""

    reason: str = Field(max_length=1000)


class SummaryOut(Out):
    """Counts for triage."""

    total: int
    by_status: dict[str, int]
    expiring_within_30_days: int
    expired: int
    by_agent: dict[str, int]
    by_scan: dict[str, int]


class ScanIn(In):
    """A network scan: CIDRs (at most a /20 each) and ports."""

    cidrs: list[str] = Field(min_length=1, max_length=MAX_SCAN_TARGETS)
    ports: list[int] = Field(default_factory=lambda: [443], max_length=MAX_SCAN_PORTS * 4)
    server_name: Line | None = Field(default=None, max_length=255)


class ScanOut(Out):
    """A network scan."""

    id: str
    cidrs: list[str]
    ports: list[int]
    server_name: str | None
    status: ScanStatus
    requested_by: str
    addresses: int
    probed: int
    endpoints_found: int
    certificates_found: int
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class ScanDetailOut(ScanOut):
    """A scan with the endpoints it found."""

    endpoints: list[EndpointOut]


class DriftOut(Out):
    """An open drift on a certificate-target mapping."""

    certificate_id: str
    target_id: str
    endpoint: str
    server_name: str | None
    kind: DriftKind
    served_fingerprint: str
    expected_fingerprint: str
    job_id: str | None
    detected_at: datetime
    last_checked_at: datetime
