"""The shapes of the API's JSON answers, as typed dictionaries (the wire format, unparsed).

Times stay ISO 8601 strings as the server sent them: ``--output json`` prints answers exactly,
and the renderers parse the few times they show.
"""

from __future__ import annotations

from typing import Any, Generic, NotRequired, TypedDict, TypeVar

T = TypeVar("T")


class Page(TypedDict, Generic[T]):
    """The list envelope ``{data, total, page, per_page}``."""

    data: list[T]
    total: int
    page: int
    per_page: int


class RenewalInfo(TypedDict):
    """What a certificate's ACME CA last said about renewing it (RFC 9773)."""

    ari_cert_id: str
    window_start: str | None
    window_end: str | None
    explanation_url: str | None
    renew_at: str | None
    checked_at: str
    next_check_at: str
    ari_last_error: str | None


class Certificate(TypedDict):
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
    status: str
    expires_at: str | None
    tags: dict[str, str]
    source: str
    target_ids: list[str]
    last_renewal_at: str | None
    last_deployment_at: str | None
    revoked_at: str | None
    revocation_reason: str | None
    created_at: str
    updated_at: str
    renewal_info: NotRequired[RenewalInfo | None]


class RouteStep(TypedDict):
    """One channel of one threshold of an alert route."""

    channel: str
    recipient: str
    configured: bool
    source: str
    skipped_because: str


class RouteRow(TypedDict):
    """What fires at one threshold."""

    threshold_days: int
    tier: str
    channels: list[RouteStep]


class AlertRoute(TypedDict):
    """Who the expiry scan would alert for a certificate."""

    certificate_id: str
    policy_id: str | None
    policy_name: str
    owner_name: str
    owner_email: str
    team_name: str
    thresholds: list[RouteRow]


class RouteChannel(TypedDict):
    """One channel of one tier: its destination (secrets masked) and what decides it."""

    channel: str
    destination: str
    decided_by: str
    why: str
    override_id: str | None


class TierRoute(TypedDict):
    """One tier: the thresholds that fire it and its channels."""

    tier: str
    thresholds: list[int | str]
    channels: list[RouteChannel]


class EffectiveRoute(TypedDict):
    """Who gets paged for a certificate per tier, and why."""

    certificate_id: str
    policy_id: str | None
    policy_name: str
    owner_id: str | None
    team_id: str | None
    tiers: list[TierRoute]


class Version(TypedDict):
    """One issued version of a certificate."""

    id: str
    certificate_id: str
    serial_number: str
    not_before: str
    not_after: str
    fingerprint_sha256: str
    subject_dn: str
    issuer_dn: str
    key_algorithm: str
    key_size: int
    pem_chain: str
    csr_pem: str | None
    created_at: str


class Imported(TypedDict):
    """What an import created: the certificate and its first version."""

    certificate: Certificate
    version: Version


class Job(TypedDict):
    """An issuance, renewal, deployment or validation job."""

    id: str
    type: str
    certificate_id: str
    target_id: str | None
    agent_id: str | None
    status: str
    attempts: int
    max_attempts: int
    last_error: str | None
    requested_by: str
    approved_by: str | None
    decision_reason: str | None
    scheduled_at: str | None
    started_at: str | None
    completed_at: str | None
    lease_owner: str | None
    lease_expires_at: str | None
    created_at: str
    updated_at: str


class BulkError(TypedDict):
    """One certificate a bulk action could not handle."""

    certificate_id: str
    detail: str


class BulkResult(TypedDict):
    """The outcome of a bulk revoke or renew."""

    total_matched: int
    total_enqueued: int
    total_skipped: int
    total_failed: int
    errors: list[BulkError]


class Notification(TypedDict):
    """One outbox row and its delivery state."""

    id: str
    kind: str
    channel: str
    status: str
    certificate_id: str | None
    threshold_days: int | None
    days_until_expiry: int | None
    severity_tier: str
    recipient: str
    subject: str
    message: str
    incident_key: str
    attempts: int
    max_attempts: int
    next_retry_at: str | None
    last_error: str | None
    receipt: str | None
    sent_at: str | None
    read_at: str | None
    silence_id: NotRequired[str | None]
    digest_id: NotRequired[str | None]
    created_at: str
    updated_at: str


class Silence(TypedDict):
    """A time-bounded mute of the deliveries its matchers select."""

    id: str
    reason: str
    starts_at: str
    ends_at: str
    created_by: str
    certificate_id: str | None
    owner_id: str | None
    team_id: str | None
    environment: str | None
    issuer_id: str | None
    tag: str | None
    channel: str | None
    created_at: str
    updated_at: str


class Owner(TypedDict):
    """A person or mailbox answerable for certificates, with their digest choice."""

    id: str
    name: str
    email: str
    team_id: str | None
    digest: str
    created_at: str
    updated_at: str


class QuietHours(TypedDict):
    """A quiet window of a team, a channel or both (local times in an IANA zone)."""

    id: str
    name: str
    weekdays: list[str]
    start: str
    end: str
    timezone: str
    team_id: str | None
    channel: str | None
    enabled: bool
    created_at: str
    updated_at: str


class RouteOverride(TypedDict):
    """A team's or owner's own destination for one channel (secrets masked)."""

    id: str
    name: str
    channel: str
    team_id: str | None
    owner_id: str | None
    tier: str | None
    config: dict[str, Any]
    enabled: bool
    created_at: str
    updated_at: str
    alert_id: str | None


class Alert(TypedDict):
    """One alert: open, acknowledged or resolved, with who and when."""

    id: str
    kind: str
    certificate_id: str
    version_id: str
    threshold: str | None
    tier: str
    state: str
    subject: str
    incident_key: str
    cause: str | None
    job_id: str | None
    opened_at: str
    updated_at: str
    acknowledged_by: str | None
    acknowledged_at: str | None
    resolved_by: str | None
    resolved_at: str | None
    resolve_reason: str | None
    escalated_at: str | None
    escalation_level: int


class AlertDetail(Alert):
    """An alert with its deliveries."""

    deliveries: list[Notification]


class Policy(TypedDict):
    """A renewal policy with its alert matrix (severity map keys are thresholds as strings)."""

    id: str
    name: str
    description: str
    renewal_window_days: int
    auto_renew: bool
    max_retries: int
    retry_interval_seconds: int
    alert_thresholds_days: list[int | str]
    alert_channels: dict[str, list[str]]
    alert_severity_map: dict[str, str]
    certificate_profile_id: str | None
    agent_group_id: str | None
    escalation_after_minutes: int | None
    escalation_channels: list[str]
    created_at: str
    updated_at: str


class AuditEvent(TypedDict):
    """One audit row."""

    id: str
    occurred_at: str
    actor: str
    actor_type: str
    action: str
    resource_type: str
    resource_id: str
    status: str
    details: dict[str, Any]
    request_id: str | None
    body_sha256: str | None
    latency_ms: float | None
    prev_hash: str
    row_hash: str


class ChainBreak(TypedDict):
    """The first broken link of the audit chain."""

    kind: str
    seq: int | None
    event_id: str | None
    detail: str


class AuditVerification(TypedDict):
    """The result of verifying the audit hash chain."""

    intact: bool
    rows_checked: int
    head_hash: str
    first_break: ChainBreak | None


class Agent(TypedDict, total=False):
    """A registered agent (fields beyond id, name and status may be absent)."""

    id: str
    name: str
    hostname: str
    os: str
    arch: str
    ip_address: str
    version: str
    status: str
    last_heartbeat_at: str | None
    retired_at: str | None
    retired_reason: str | None
    created_at: str
    updated_at: str


class Summary(TypedDict):
    """Dashboard counts."""

    total_certificates: int
    certificates_by_status: dict[str, int]
    expiring_in_30_days: int
    agents_total: int
    agents_online: int
    jobs_by_status: dict[str, int]
    notifications_dead: int


class Issuer(TypedDict):
    """A configured CA connector; secret config fields come back masked."""

    id: str
    name: str
    type: str
    config: dict[str, Any]
    enabled: bool
    test_status: str
    last_tested_at: str | None
    created_at: str
    updated_at: str


class IssuerTest(TypedDict):
    """The outcome of testing an issuer's connection."""

    ok: bool
    detail: str
    issuer: Issuer


class Discovery(TypedDict, total=False):
    """A certificate found on a host or endpoint, with its triage state."""

    id: str
    source: str
    status: str
    agent_id: str | None
    scan_id: str | None
    location: str
    index_in_file: int
    fingerprint_sha256: str
    common_name: str
    sans: list[str]
    issuer_dn: str
    serial_number: str
    not_before: str
    not_after: str
    key_algorithm: str
    key_size: int
    is_ca: bool
    managed_certificate_id: str | None
    dismissed_reason: str | None
    triaged_by: str | None
    last_seen_at: str
    pem: str
    endpoints: list[dict[str, Any]]


class DiscoverySummary(TypedDict):
    """Discovery counts for triage."""

    total: int
    by_status: dict[str, int]
    expiring_within_30_days: int
    expired: int
    by_agent: dict[str, int]
    by_scan: dict[str, int]


class Claimed(TypedDict):
    """What a claim created."""

    certificate: Certificate
    version: Version
    discovery: Discovery


class DiscoveryScan(TypedDict, total=False):
    """A network scan."""

    id: str
    cidrs: list[str]
    ports: list[int]
    status: str
    requested_by: str
    addresses: int
    probed: int
    endpoints_found: int
    certificates_found: int
    started_at: str
    finished_at: str | None
    endpoints: list[dict[str, Any]]


class Drift(TypedDict):
    """An open drift on a certificate-target mapping."""

    certificate_id: str
    target_id: str
    endpoint: str
    server_name: str | None
    kind: str
    served_fingerprint: str
    expected_fingerprint: str
    job_id: str | None
    detected_at: str
    last_checked_at: str


class Deployed(TypedDict):
    """The Deployment jobs an on-demand deploy queued."""

    jobs: list[Job]


class ForecastItem(TypedDict):
    """One delivery the expiry scan would decide on a forecast day."""

    at: str
    kind: str
    certificate_id: str
    certificate_name: str
    threshold: str
    tier: str
    channel: str
    destination: str
    override_id: str | None
    status: str
    silence_id: str | None
    held_until: str | None


class ForecastDay(TypedDict):
    """One forecast day: deliveries per tier and the deliveries."""

    date: str
    counts: dict[str, int]
    items: list[ForecastItem]


class AlertForecast(TypedDict):
    """What the expiry scan would send on each of the next days (no renewal assumed)."""

    start: str
    days: int
    assumes_no_renewal: bool
    total: int
    forecast: list[ForecastDay]
