"""SQLAlchemy table models; the schema itself is created by the Alembic migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from certctl.db.types import UTCDateTime, json_type


class Base(DeclarativeBase):
    """Declarative base of every certctl table."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: json_type()}


class Stamped:
    """Created/updated timestamps shared by the inventory tables."""

    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class TeamRow(Stamped, Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class OwnerRow(Stamped, Base):
    __tablename__ = "owners"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"))
    digest: Mapped[str] = mapped_column(String(16), default="off")


class CertificateProfileRow(Stamped, Base):
    __tablename__ = "certificate_profiles"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    allowed_key_algorithms: Mapped[Any] = mapped_column(json_type())
    max_ttl_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    allowed_ekus: Mapped[Any] = mapped_column(json_type())
    required_san_patterns: Mapped[Any] = mapped_column(json_type())
    must_staple: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_short_lived: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    preset: Mapped[str] = mapped_column(String(32), default="")


class AgentRow(Stamped, Base):
    __tablename__ = "agents"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    hostname: Mapped[str] = mapped_column(String(255), default="")
    os: Mapped[str] = mapped_column(String(64), default="")
    arch: Mapped[str] = mapped_column(String(64), default="")
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(32), default="Offline")
    last_heartbeat_at: Mapped[datetime | None]
    credential_hash: Mapped[str | None] = mapped_column(String(128))
    retired_at: Mapped[datetime | None]
    retired_reason: Mapped[str | None] = mapped_column(Text)
    addresses: Mapped[Any] = mapped_column(json_type(), nullable=True)

    __table_args__ = (Index("ix_agents_credential_hash", "credential_hash"),)


class AgentGroupRow(Stamped, Base):
    __tablename__ = "agent_groups"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    match_os: Mapped[str | None] = mapped_column(String(64))
    match_arch: Mapped[str | None] = mapped_column(String(64))
    match_ip_cidr: Mapped[str | None] = mapped_column(String(64))
    match_version: Mapped[str | None] = mapped_column(String(64))
    member_agent_ids: Mapped[Any] = mapped_column(json_type())


class RenewalPolicyRow(Stamped, Base):
    __tablename__ = "renewal_policies"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    renewal_window_days: Mapped[int] = mapped_column(Integer, default=30)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=True)
    max_retries: Mapped[int] = mapped_column(Integer, default=3)
    retry_interval_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    alert_thresholds_days: Mapped[Any] = mapped_column(json_type())
    alert_channels: Mapped[Any] = mapped_column(json_type())
    alert_severity_map: Mapped[Any] = mapped_column(json_type())
    certificate_profile_id: Mapped[str | None] = mapped_column(
        ForeignKey("certificate_profiles.id", ondelete="RESTRICT")
    )
    agent_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("agent_groups.id", ondelete="RESTRICT")
    )
    escalation_after_minutes: Mapped[int | None] = mapped_column(Integer)
    escalation_channels: Mapped[Any] = mapped_column(json_type(), default=list)


class IssuerRow(Stamped, Base):
    __tablename__ = "issuers"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    config: Mapped[Any] = mapped_column(json_type())
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    test_status: Mapped[str] = mapped_column(String(32), default="untested")
    last_tested_at: Mapped[datetime | None]


class DeploymentTargetRow(Stamped, Base):
    __tablename__ = "deployment_targets"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="RESTRICT"))
    config: Mapped[Any] = mapped_column(json_type())
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class ManagedCertificateRow(Stamped, Base):
    __tablename__ = "managed_certificates"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    common_name: Mapped[str] = mapped_column(String(255))
    sans: Mapped[Any] = mapped_column(json_type())
    environment: Mapped[str] = mapped_column(String(64), default="")
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("owners.id", ondelete="RESTRICT"))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"))
    issuer_id: Mapped[str | None] = mapped_column(ForeignKey("issuers.id", ondelete="RESTRICT"))
    renewal_policy_id: Mapped[str | None] = mapped_column(
        ForeignKey("renewal_policies.id", ondelete="RESTRICT")
    )
    certificate_profile_id: Mapped[str | None] = mapped_column(
        ForeignKey("certificate_profiles.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None]
    tags: Mapped[Any] = mapped_column(json_type())
    source: Mapped[str] = mapped_column(String(32), default="manual")
    last_renewal_at: Mapped[datetime | None]
    last_deployment_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_managed_certificates_expires_at", "expires_at"),
        Index("ix_managed_certificates_status_expires_at", "status", "expires_at"),
        Index("ix_managed_certificates_owner_id", "owner_id"),
        Index("ix_managed_certificates_team_id", "team_id"),
        Index("ix_managed_certificates_environment", "environment"),
    )


class CertificateStatusCountRow(Base):
    """Certificates per status as deltas: the sum of a status's rows is its count.

    Triggers on managed_certificates append rows (revision 0017); the scheduler folds them
    into one row per status.
    """

    __tablename__ = "certificate_status_counts"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    status: Mapped[str] = mapped_column(String(32))
    delta: Mapped[int] = mapped_column(BigInteger)


class CertificateTargetRow(Base):
    __tablename__ = "certificate_targets"
    certificate_id: Mapped[str] = mapped_column(
        ForeignKey("managed_certificates.id", ondelete="CASCADE"), primary_key=True
    )
    target_id: Mapped[str] = mapped_column(
        ForeignKey("deployment_targets.id", ondelete="RESTRICT"), primary_key=True
    )


class CertificateVersionRow(Base):
    __tablename__ = "certificate_versions"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    certificate_id: Mapped[str] = mapped_column(
        ForeignKey("managed_certificates.id", ondelete="RESTRICT"), index=True
    )
    serial_number: Mapped[str] = mapped_column(String(64), index=True)
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    pem_chain: Mapped[str] = mapped_column(Text)
    csr_pem: Mapped[str | None] = mapped_column(Text)
    subject_dn: Mapped[str] = mapped_column(Text, default="")
    issuer_dn: Mapped[str] = mapped_column(Text, default="")
    key_algorithm: Mapped[str] = mapped_column(String(32), default="")
    key_size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(128), unique=True)
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    actor_type: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(100))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    details: Mapped[Any] = mapped_column(json_type())
    request_id: Mapped[str | None] = mapped_column(String(64))
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    prev_hash: Mapped[str] = mapped_column(String(64), server_default="")
    row_hash: Mapped[str] = mapped_column(String(64), server_default="")

    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_resource", "resource_type", "resource_id"),
        Index("ix_audit_events_actor", "actor"),
        Index("ix_audit_events_action", "action"),
    )


class AuditChainHeadRow(Base):
    """The newest row of the audit chain; appends lock it, verification compares with it."""

    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class RateLimitRow(Base):
    """One fixed-window counter (per API key, client address or account) shared by replicas."""

    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime]
    hits: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime | None]


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime | None]


# At most one open issuing job per certificate (a partial unique index, migration 0004).
_OPEN_ISSUING = (
    "status IN ('Pending', 'AwaitingCSR', 'AwaitingApproval', 'Running') "
    "AND type IN ('Issuance', 'Renewal')"
)


class JobRow(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    certificate_id: Mapped[str] = mapped_column(
        ForeignKey("managed_certificates.id", ondelete="CASCADE")
    )
    target_id: Mapped[str | None] = mapped_column(
        ForeignKey("deployment_targets.id", ondelete="SET NULL")
    )
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    retry_interval_seconds: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    scheduled_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    order_state: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    status_changed_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_jobs_status_scheduled_at", "status", "scheduled_at"),
        Index("ix_jobs_certificate_id", "certificate_id"),
        Index("ix_jobs_created_at", "created_at"),
        Index("ix_jobs_agent_id_status", "agent_id", "status"),
        Index(
            "uq_jobs_open_issuing_certificate",
            "certificate_id",
            unique=True,
            sqlite_where=text(_OPEN_ISSUING),
            postgresql_where=text(_OPEN_ISSUING),
        ),
    )


class NotificationEventRow(Base):
    __tablename__ = "notification_events"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    certificate_id: Mapped[str | None] = mapped_column(
        ForeignKey("managed_certificates.id", ondelete="RESTRICT")
    )
    version_ref: Mapped[str] = mapped_column(String(128), default="")
    threshold_days: Mapped[int | None] = mapped_column(Integer)
    days_until_expiry: Mapped[int | None] = mapped_column(Integer)
    severity_tier: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    context: Mapped[Any] = mapped_column(json_type())
    incident_key: Mapped[str] = mapped_column(String(255))
    dedup_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    silence_id: Mapped[str | None] = mapped_column(String(128))
    digest_id: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    alert_id: Mapped[str | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="RESTRICT"), index=True
    )

    __table_args__ = (
        Index("ix_notification_events_status_next_retry", "status", "next_retry_at"),
        Index("ix_notification_events_certificate_id", "certificate_id"),
        Index("ix_notification_events_created_at", "created_at"),
    )


class NotificationChannelRow(Stamped, Base):
    __tablename__ = "notification_channels"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    config: Mapped[Any] = mapped_column(json_type())
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class IssuerCARow(Base):
    __tablename__ = "issuer_ca"
    issuer_id: Mapped[str] = mapped_column(
        ForeignKey("issuers.id", ondelete="CASCADE"), primary_key=True
    )
    ca_chain_pem: Mapped[str] = mapped_column(Text)
    sealed_key: Mapped[str] = mapped_column(Text)
    responder_cert_pem: Mapped[str | None] = mapped_column(Text)
    responder_sealed_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class CertificateRevocationRow(Base):
    __tablename__ = "certificate_revocations"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    certificate_id: Mapped[str] = mapped_column(
        ForeignKey("managed_certificates.id", ondelete="RESTRICT"), index=True
    )
    issuer_id: Mapped[str | None] = mapped_column(String(128))
    serial_number: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))
    revoked_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime]
    issuer_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The DER of its CRL entry (domain.crl_entry), fixed when recorded; NULL only for a
    # row that cannot be listed (its CRL is then refused with the reason).
    entry_der: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (
        UniqueConstraint(
            "issuer_id", "serial_number", name="uq_certificate_revocations_issuer_serial"
        ),
    )


class CRLStateRow(Base):
    __tablename__ = "crl_state"
    issuer_id: Mapped[str] = mapped_column(
        ForeignKey("issuers.id", ondelete="CASCADE"), primary_key=True
    )
    crl_number: Mapped[int] = mapped_column(BigInteger)
    der: Mapped[str | None] = mapped_column(Text)
    this_update: Mapped[datetime | None]
    next_update: Mapped[datetime | None]
    etag: Mapped[str | None] = mapped_column(String(80))


class DashboardUserRow(Stamped, Base):
    __tablename__ = "dashboard_users"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]


class DashboardSessionRow(Base):
    __tablename__ = "dashboard_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(128))
    principal_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AcmeAccountRow(Base):
    __tablename__ = "acme_accounts"
    issuer_id: Mapped[str] = mapped_column(
        ForeignKey("issuers.id", ondelete="CASCADE"), primary_key=True
    )
    directory_url: Mapped[str] = mapped_column(Text)
    sealed_key: Mapped[str] = mapped_column(Text)
    account_url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AcmeChallengeRow(Base):
    __tablename__ = "acme_challenges"
    token: Mapped[str] = mapped_column(String(255), primary_key=True)
    key_authorization: Mapped[str] = mapped_column(Text)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]


class CertificateRenewalInfoRow(Base):
    __tablename__ = "certificate_renewal_info"
    certificate_id: Mapped[str] = mapped_column(
        ForeignKey("managed_certificates.id", ondelete="CASCADE"), primary_key=True
    )
    ari_cert_id: Mapped[str] = mapped_column(String(255))
    checked_at: Mapped[datetime]
    next_check_at: Mapped[datetime] = mapped_column(index=True)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    explanation_url: Mapped[str | None] = mapped_column(Text)
    renew_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)


class DiscoveredCertificateRow(Base):
    """A certificate found on a host (agent) or endpoint (network scan), with its triage (C8)."""

    __tablename__ = "discovered_certificates"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    # The agent's id, or "network" for a server-side scan: part of the de-duplication key.
    reporter: Mapped[str] = mapped_column(String(128))
    location: Mapped[str] = mapped_column(String(1024))
    index_in_file: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint_sha256: Mapped[str] = mapped_column(String(64))
    common_name: Mapped[str] = mapped_column(String(255), default="")
    sans: Mapped[Any] = mapped_column(json_type())
    subject_dn: Mapped[str] = mapped_column(Text, default="")
    issuer_dn: Mapped[str] = mapped_column(Text, default="")
    serial_number: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    key_algorithm: Mapped[str] = mapped_column(String(32), default="")
    key_size: Mapped[int] = mapped_column(Integer, default=0)
    is_ca: Mapped[bool] = mapped_column(Boolean, default=False)
    format: Mapped[str] = mapped_column(String(8))
    pem: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    scan_id: Mapped[str | None] = mapped_column(String(128))
    managed_certificate_id: Mapped[str | None] = mapped_column(
        ForeignKey("managed_certificates.id", ondelete="SET NULL")
    )
    dismissed_reason: Mapped[str | None] = mapped_column(Text)
    triaged_by: Mapped[str | None] = mapped_column(String(200))
    triaged_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint(
            "fingerprint_sha256", "reporter", "location", name="uq_discovered_certificates_key"
        ),
        Index("ix_discovered_certificates_status", "status", "not_after"),
    )


class DiscoveryScanRow(Base):
    """A server-side network scan (C8)."""

    __tablename__ = "discovery_scans"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    cidrs: Mapped[Any] = mapped_column(json_type())
    ports: Mapped[Any] = mapped_column(json_type())
    server_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(200))
    addresses: Mapped[int] = mapped_column(Integer, default=0)
    probed: Mapped[int] = mapped_column(Integer, default=0)
    endpoints_found: Mapped[int] = mapped_column(Integer, default=0)
    certificates_found: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class DiscoveredEndpointRow(Base):
    """A TLS endpoint a scan found and the chain it served (C8)."""

    __tablename__ = "discovered_endpoints"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    scan_id: Mapped[str] = mapped_column(
        ForeignKey("discovery_scans.id", ondelete="CASCADE"), index=True
    )
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    server_name: Mapped[str | None] = mapped_column(String(255))
    chain_pem: Mapped[str] = mapped_column(Text)
    leaf_fingerprint_sha256: Mapped[str] = mapped_column(String(64))
    discovery_id: Mapped[str | None] = mapped_column(
        ForeignKey("discovered_certificates.id", ondelete="SET NULL")
    )
    discovered_at: Mapped[datetime]


class TargetDriftRow(Base):
    """An open drift: the target's endpoint serves something other than the current version."""

    __tablename__ = "target_drift"
    certificate_id: Mapped[str] = mapped_column(
        ForeignKey("managed_certificates.id", ondelete="CASCADE"), primary_key=True
    )
    target_id: Mapped[str] = mapped_column(
        ForeignKey("deployment_targets.id", ondelete="CASCADE"), primary_key=True
    )
    endpoint: Mapped[str] = mapped_column(String(300))
    server_name: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    served_fingerprint: Mapped[str] = mapped_column(String(64))
    expected_fingerprint: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(128))
    detected_at: Mapped[datetime]
    last_checked_at: Mapped[datetime]


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    certificate_id: Mapped[str] = mapped_column(
        ForeignKey("managed_certificates.id", ondelete="RESTRICT"), index=True
    )
    version_id: Mapped[str] = mapped_column(String(128))
    threshold: Mapped[str | None] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)
    incident_key: Mapped[str] = mapped_column(String(255))
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    cause: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(128))
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolve_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_alerts_state_tier", "state", "tier"),)


class SilenceRow(Stamped, Base):
    __tablename__ = "silences"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    certificate_id: Mapped[str | None] = mapped_column(String(128))
    owner_id: Mapped[str | None] = mapped_column(String(128))
    team_id: Mapped[str | None] = mapped_column(String(128))
    environment: Mapped[str | None] = mapped_column(String(64))
    issuer_id: Mapped[str | None] = mapped_column(String(128))
    tag: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str | None] = mapped_column(String(32))


class QuietHoursRow(Stamped, Base):
    __tablename__ = "quiet_hours"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    weekdays: Mapped[Any] = mapped_column(json_type())
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    channel: Mapped[str | None] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class RouteOverrideRow(Stamped, Base):
    __tablename__ = "route_overrides"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    tier: Mapped[str | None] = mapped_column(String(16))
    config: Mapped[Any] = mapped_column(json_type())
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
