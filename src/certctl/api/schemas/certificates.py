"""Schemas of managed certificates, imports and versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from pydantic_core import to_json

from certctl.api.schemas.common import In, Line, Out, ResourceId
from certctl.domain.certificates import CertificateSource, CertificateStatus
from certctl.domain.listing import Page
from certctl.domain.renewal_info import RenewalInfoState

CertName = str
Sans = list[Line]
Tags = dict[Line, Line]


class CertificateIn(In):
    """A certificate registered by hand."""

    id: ResourceId | None = None
    name: Line = Field(min_length=1, max_length=255)
    common_name: Line = Field(min_length=1, max_length=255)
    sans: Sans = Field(default_factory=list, max_length=1000)
    environment: Line = Field(default="", max_length=64)
    owner_id: ResourceId | None = None
    team_id: ResourceId | None = None
    issuer_id: ResourceId | None = None
    renewal_policy_id: ResourceId | None = None
    certificate_profile_id: ResourceId | None = None
    status: CertificateStatus = CertificateStatus.PENDING
    expires_at: datetime | None = None
    tags: Tags = Field(default_factory=dict)
    target_ids: list[ResourceId] = Field(default_factory=list, max_length=1000)


class CertificatePatch(In):
    """Fields of a certificate to change; status edits follow the lifecycle."""

    name: Line | None = Field(default=None, min_length=1, max_length=255)
    common_name: Line | None = Field(default=None, min_length=1, max_length=255)
    sans: Sans | None = Field(default=None, max_length=1000)
    environment: Line | None = Field(default=None, max_length=64)
    owner_id: ResourceId | None = None
    team_id: ResourceId | None = None
    issuer_id: ResourceId | None = None
    renewal_policy_id: ResourceId | None = None
    certificate_profile_id: ResourceId | None = None
    status: CertificateStatus | None = None
    expires_at: datetime | None = None
    tags: Tags | None = None
    target_ids: list[ResourceId] | None = Field(default=None, max_length=1000)


class CertificateImport(In):
    """A PEM certificate (optionally with its chain) to bring under management."""

    pem: str = Field(min_length=1, description="Leaf first, then any chain certificates.")
    name: Line | None = Field(default=None, min_length=1, max_length=255)
    owner_id: ResourceId | None = None
    team_id: ResourceId | None = None
    renewal_policy_id: ResourceId | None = None
    environment: Line | None = Field(default=None, max_length=64)


class RenewalInfoOut(Out):
    """What the ACME CA last said about renewing the certificate (RFC 9773)."""

    ari_cert_id: str
    window_start: datetime | None
    window_end: datetime | None
    explanation_url: str | None
    renew_at: datetime | None = Field(
        description="The moment chosen in the window; the renewal job is queued for it."
    )
    checked_at: datetime
    next_check_at: datetime = Field(description="Not asked again before (Retry-After).")
    ari_last_error: str | None = Field(
        description="Why the last check failed; the policy's renewal window applies meanwhile."
    )

    @classmethod
    def of(cls, state: RenewalInfoState | None) -> RenewalInfoOut | None:
        """The output of a stored state (None when the CA was never asked)."""
        if state is None:
            return None
        window = state.window
        return cls(
            ari_cert_id=state.ari_cert_id,
            window_start=window.start if window else None,
            window_end=window.end if window else None,
            explanation_url=window.explanation_url if window else None,
            renew_at=state.renew_at,
            checked_at=state.checked_at,
            next_check_at=state.next_check_at,
            ari_last_error=state.last_error,
        )


class CertificateOut(Out):
    """A managed certificate."""

    id: str
    name: str
    common_name: str
    sans: list[str]
    environment: str
    owner_id: str | None
    team_id: str | None
    issuer_id: str | None
    renewal_policy_id: str | None
    certificate_profile_id: str | None
    status: CertificateStatus
    expires_at: datetime | None
    tags: dict[str, str]
    source: CertificateSource
    last_renewal_at: datetime | None
    last_deployment_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str | None
    created_at: datetime
    updated_at: datetime
    target_ids: list[str]
    renewal_info: RenewalInfoOut | None = Field(
        default=None,
        description="ACME renewal information (RFC 9773); given when one certificate is read.",
    )


class VersionOut(Out):
    """One issued version of a certificate."""

    id: str
    certificate_id: str
    serial_number: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    subject_dn: str
    issuer_dn: str
    key_algorithm: str
    key_size: int
    pem_chain: str
    csr_pem: str | None
    created_at: datetime


class ImportOut(Out):
    """The certificate an import created and its first version."""

    certificate: CertificateOut
    version: VersionOut


def certificate_page_json(page: Page[dict[str, Any]]) -> bytes:
    """A page of certificate records as the JSON of PageOut[CertificateOut], byte for byte.

    The records come typed from the database with their keys in CertificateOut's order, so
    validating 50 of them into models and then serialising the models costs several times
    what serialising them does: pydantic's encoder renders their datetimes, lists and dicts
    exactly as the models would. `renewal_info` is only given on a single read: null here.
    """
    for record in page.items:
        record["renewal_info"] = None
    envelope = f',"total":{page.total},"page":{page.page},"per_page":{page.per_page}}}'
    return b'{"data":' + to_json(page.items) + envelope.encode()
