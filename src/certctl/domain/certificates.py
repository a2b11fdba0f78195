"""Managed certificates, their versions and the status rules between them (C1)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from certctl.errors import Conflict


class CertificateStatus(enum.StrEnum):
    """Lifecycle status of a managed certificate (TitleCase on the wire)."""

    PENDING = "Pending"
    ACTIVE = "Active"
    EXPIRING = "Expiring"
    EXPIRED = "Expired"
    RENEWAL_IN_PROGRESS = "RenewalInProgress"
    FAILED = "Failed"
    REVOKED = "Revoked"
    ARCHIVED = "Archived"


class CertificateSource(enum.StrEnum):
    """How a certificate came under management."""

    MANUAL = "manual"
    IMPORT = "import"
    ISSUED = "issued"
    DISCOVERY = "discovery"


S = CertificateStatus
_MANUAL_TRANSITIONS: Mapping[S, frozenset[S]] = {
    S.PENDING: frozenset({S.ACTIVE, S.RENEWAL_IN_PROGRESS, S.FAILED}),
    S.ACTIVE: frozenset({S.EXPIRING, S.EXPIRED, S.RENEWAL_IN_PROGRESS, S.FAILED}),
    S.EXPIRING: frozenset({S.ACTIVE, S.EXPIRED, S.RENEWAL_IN_PROGRESS, S.FAILED}),
    S.EXPIRED: frozenset({S.RENEWAL_IN_PROGRESS, S.FAILED}),
    S.RENEWAL_IN_PROGRESS: frozenset({S.ACTIVE, S.EXPIRING, S.EXPIRED, S.FAILED}),
    S.FAILED: frozenset({S.PENDING, S.RENEWAL_IN_PROGRESS, S.EXPIRING, S.EXPIRED}),
    S.REVOKED: frozenset(),
    S.ARCHIVED: frozenset(),
}


def check_status_change(current: CertificateStatus, wanted: CertificateStatus) -> None:
    """Refuse a status edit that the lifecycle does not allow, naming both ends."""
    if current == wanted:
        return
    if current is S.ARCHIVED:
        raise Conflict("certificate is archived; archived certificates cannot change")
    if wanted is S.REVOKED:
        raise Conflict("status Revoked is set only by revoking the certificate")
    if wanted is S.ARCHIVED:
        raise Conflict("status Archived is set only by deleting the certificate")
    if wanted not in _MANUAL_TRANSITIONS[current]:
        raise Conflict(f"status cannot change from {current.value} to {wanted.value}")


def check_archivable(current: CertificateStatus) -> None:
    """Refuse to archive a certificate twice."""
    if current is S.ARCHIVED:
        raise Conflict("certificate is already archived")


def status_for_expiry(expires_at: datetime, now: datetime, window_days: int) -> CertificateStatus:
    """Status implied by dates alone: Expired, Expiring within the window, else Active."""
    if expires_at <= now:
        return S.EXPIRED
    if expires_at - now <= timedelta(days=window_days):
        return S.EXPIRING
    return S.ACTIVE


@dataclass(frozen=True)
class ManagedCertificate:
    """A certificate under management, whatever its current version."""

    id: str
    name: str
    common_name: str
    created_at: datetime
    updated_at: datetime
    sans: tuple[str, ...] = ()
    environment: str = ""
    owner_id: str | None = None
    team_id: str | None = None
    issuer_id: str | None = None
    renewal_policy_id: str | None = None
    certificate_profile_id: str | None = None
    status: CertificateStatus = S.PENDING
    expires_at: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    source: CertificateSource = CertificateSource.MANUAL
    target_ids: tuple[str, ...] = ()
    last_renewal_at: datetime | None = None
    last_deployment_at: datetime | None = None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None


@dataclass(frozen=True)
class CertificateFacts:
    """What a certificate says about itself, read from its X.509 encoding."""

    common_name: str
    sans: tuple[str, ...]
    serial_number: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    subject_dn: str
    issuer_dn: str
    key_algorithm: str
    key_size: int
    is_ca: bool


@dataclass(frozen=True)
class CertificateVersion:
    """One issued certificate (serial) of a managed certificate."""

    id: str
    certificate_id: str
    serial_number: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    pem_chain: str
    created_at: datetime
    subject_dn: str = ""
    issuer_dn: str = ""
    key_algorithm: str = ""
    key_size: int = 0
    csr_pem: str | None = None


@dataclass(frozen=True)
class CertificateFilter:
    """Criteria of a certificate listing; unset fields do not filter."""

    statuses: tuple[CertificateStatus, ...] = ()
    environment: str | None = None
    owner_id: str | None = None
    team_id: str | None = None
    issuer_id: str | None = None
    renewal_policy_id: str | None = None
    certificate_profile_id: str | None = None
    source: str | None = None
    expires_before: datetime | None = None
    expires_after: datetime | None = None
    q: str | None = None
    include_archived: bool = False
