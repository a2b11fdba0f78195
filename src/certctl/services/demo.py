"""The demo estate: teams, owners, policies, profiles, an issuer and ~30 certificates.

Everything goes through the services, so the demo data obeys the same validation and leaves
the same audit trail as real use. Seeding is idempotent: a seeded database is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.certificates import CertificateStatus
from certctl.domain.inventory import Agent, AgentStatus
from certctl.errors import NotFound
from certctl.pki.csr import make_csr
from certctl.pki.mint import make_ca, mint_leaf
from certctl.services.agents import AgentService
from certctl.services.certificates import CertificateService
from certctl.services.inventory import InventoryService
from certctl.services.jobs import JobService

DEMO_TEAM_ID = "t-platform"

TEAMS: list[dict[str, Any]] = [
    {"id": "t-platform", "name": "Platform", "description": "Edge, ingress and shared services"},
    {"id": "t-payments", "name": "Payments", "description": "Checkout and card processing"},
    {"id": "t-security", "name": "Security", "description": "PKI, VPN and identity"},
]
OWNERS: list[dict[str, Any]] = [
    {
        "id": "o-alice",
        "name": "Alice Nguyen",
        "email": "alice@example.com",
        "team_id": "t-platform",
    },
    {"id": "o-bob", "name": "Bob Okafor", "email": "bob@example.com", "team_id": "t-payments"},
    {
        "id": "o-carol",
        "name": "Carol Jensen",
        "email": "carol@example.com",
        "team_id": "t-security",
    },
]
PROFILES: list[dict[str, Any]] = [
    {"id": "cp-tls-server", "name": "TLS server", "max_ttl_seconds": 90 * 86400},
    {
        "id": "cp-tls-approved",
        "name": "TLS server (approval required)",
        "max_ttl_seconds": 397 * 86400,
        "requires_approval": True,
    },
]
POLICIES: list[dict[str, Any]] = [
    {"id": "rp-default", "name": "Default (Email at every tier)", "renewal_window_days": 30},
    {
        "id": "rp-critical",
        "name": "Customer-facing: page on-call",
        "renewal_window_days": 30,
        "alert_thresholds_days": [30, 14, 7, 1, 0],
        "alert_channels": {
            "informational": ["Slack"],
            "warning": ["Slack", "Email"],
            "critical": ["PagerDuty", "OpsGenie", "Email", "Webhook"],
        },
        "alert_severity_map": {"1": "critical"},
        "certificate_profile_id": "cp-tls-server",
    },
    {
        "id": "rp-internal",
        "name": "Internal: quiet until a week out",
        "renewal_window_days": 14,
        "alert_thresholds_days": [7, 0],
        "alert_channels": {
            "informational": [],
            "warning": ["Teams"],
            "critical": ["Teams", "Email"],
        },
        "alert_severity_map": {"7": "warning", "0": "critical"},
    },
]
ISSUERS: list[dict[str, Any]] = [
    {"id": "iss-local", "name": "Local CA", "type": "GenericCA", "config": {}},
    {
        "id": "iss-acme-le",
        "name": "ACME (staging)",
        "type": "ACME",
        "config": {
            "directory_url": "https://acme.invalid/directory",
            "email": "pki@example.com",
            "terms_agreed": True,
        },
        "enabled": False,
    },
]
# (id, hostname, os, arch, ip, version, status, minutes since the last heartbeat)
AGENTS: list[tuple[str, str, str, str, str, str, AgentStatus, int]] = [
    (
        "ag-edge-01",
        "edge-01.example.net",
        "linux",
        "amd64",
        "10.0.1.10",
        "0.1.0",
        AgentStatus.ONLINE,
        1,
    ),
    (
        "ag-api-01",
        "api-01.example.net",
        "linux",
        "arm64",
        "10.0.2.21",
        "0.1.0",
        AgentStatus.ONLINE,
        2,
    ),
    (
        "ag-db-02",
        "db-02.example.net",
        "linux",
        "amd64",
        "10.0.3.5",
        "0.0.9",
        AgentStatus.OFFLINE,
        180,
    ),
]
TARGETS: list[dict[str, Any]] = [
    {
        "id": "tgt-edge-nginx",
        "name": "edge nginx",
        "type": "NGINX",
        "agent_id": "ag-edge-01",
        "config": {
            "cert_path": "/etc/nginx/tls/edge.pem",
            "key_path": "/etc/nginx/tls/edge.key",
        },
    },
    {
        "id": "tgt-api-haproxy",
        "name": "api haproxy",
        "type": "HAProxy",
        "agent_id": "ag-api-01",
        "config": {"pem_path": "/etc/haproxy/certs/api.pem"},
    },
]
# Certificates issued by the demo's own local CA (iss-local) from a CSR, through a job.
LOCAL_CA_CERTS = frozenset({"registry-int"})
# (certificate, issuer, profile, what happens to its job)
DEMO_JOBS: list[tuple[str, str, str | None, str]] = [
    ("billing-prod", "iss-acme-le", None, "fail"),
    ("search-prod", "iss-local", "cp-tls-approved", "await_approval"),
    ("vault-int", "iss-local", "cp-tls-approved", "reject"),
    ("docs-prod", "iss-local", None, "pending"),
]

# A webhook left pointing at an address the SSRF guard refuses (TEST-NET-1, RFC 5737): its
# deliveries land in the dead letters, so the demo shows what an operator sees when a
# channel breaks, without any network traffic.
CHANNELS: list[dict[str, Any]] = [
    {
        "id": "nc-legacy-webhook",
        "name": "Legacy change-management webhook",
        "channel": "Webhook",
        "config": {"url": "https://192.0.2.10/certctl"},
    },
]


@dataclass(frozen=True)
class DemoCert:
    """One demo certificate: days until expiry (None = no version yet) and final status."""

    name: str
    sans: tuple[str, ...]
    days_left: float | None
    status: CertificateStatus
    environment: str
    owner: str
    team: str
    policy: str


def _estate() -> list[DemoCert]:
    S = CertificateStatus
    # fmt: off
    rows = [
        ("api-prod", ("api.example.com",), 61, S.ACTIVE, "production", "o-alice", "t-platform", "rp-critical"),
        ("www-prod", ("www.example.com", "example.com"), 75, S.ACTIVE, "production", "o-alice", "t-platform", "rp-critical"),
        ("cdn-prod", ("cdn.example.com",), 88, S.ACTIVE, "production", "o-alice", "t-platform", "rp-default"),
        ("auth-prod", ("auth.example.com",), 44, S.ACTIVE, "production", "o-carol", "t-security", "rp-critical"),
        ("grafana-int", ("grafana.int.example.com",), 120, S.ACTIVE, "internal", "o-alice", "t-platform", "rp-internal"),
        ("vault-int", ("vault.int.example.com",), 200, S.ACTIVE, "internal", "o-carol", "t-security", "rp-internal"),
        ("checkout-prod", ("checkout.example.com",), 27, S.EXPIRING, "production", "o-bob", "t-payments", "rp-critical"),
        ("pay-gw-prod", ("pay.example.com",), 13, S.EXPIRING, "production", "o-bob", "t-payments", "rp-critical"),
        ("status-page", ("status.example.com",), 6.5, S.EXPIRING, "production", "o-alice", "t-platform", "rp-critical"),
        ("mail-prod", ("mail.example.com", "smtp.example.com"), 0.6, S.EXPIRING, "production", "o-carol", "t-security", "rp-default"),
        ("jenkins-int", ("ci.int.example.com",), 10, S.EXPIRING, "internal", "o-alice", "t-platform", "rp-internal"),
        ("kafka-int", ("kafka.int.example.com",), 9, S.EXPIRING, "internal", "o-bob", "t-payments", "rp-internal"),
        ("legacy-portal", ("portal.example.com",), -3, S.EXPIRED, "production", "o-bob", "t-payments", "rp-default"),
        ("old-vpn", ("vpn-old.example.com",), -40, S.EXPIRED, "internal", "o-carol", "t-security", "rp-internal"),
        ("staging-api", ("api.staging.example.com",), -1, S.EXPIRED, "staging", "o-alice", "t-platform", "rp-default"),
        ("search-prod", ("search.example.com",), 0.8, S.RENEWAL_IN_PROGRESS, "production", "o-alice", "t-platform", "rp-critical"),
        ("docs-prod", ("docs.example.com",), 12, S.RENEWAL_IN_PROGRESS, "production", "o-alice", "t-platform", "rp-default"),
        ("billing-prod", ("billing.example.com",), 3, S.FAILED, "production", "o-bob", "t-payments", "rp-critical"),
        ("ldap-int", ("ldap.int.example.com",), 2, S.FAILED, "internal", "o-carol", "t-security", "rp-internal"),
        ("vpn-gw", ("vpn.example.com",), 150, S.REVOKED, "production", "o-carol", "t-security", "rp-default"),
        ("compromised-test", ("test.example.com",), 70, S.REVOKED, "staging", "o-carol", "t-security", "rp-default"),
        ("retired-blog", ("blog.example.com",), 30, S.ARCHIVED, "production", "o-alice", "t-platform", "rp-default"),
        ("retired-shop", ("shop-old.example.com",), -90, S.ARCHIVED, "production", "o-bob", "t-payments", "rp-default"),
        ("new-mobile-api", ("m.example.com",), None, S.PENDING, "production", "o-bob", "t-payments", "rp-critical"),
        ("new-partner-api", ("partners.example.com",), None, S.PENDING, "staging", "o-bob", "t-payments", "rp-default"),
        ("metrics-int", ("metrics.int.example.com",), 33, S.ACTIVE, "internal", "o-alice", "t-platform", "rp-internal"),
        ("sso-prod", ("sso.example.com",), 58, S.ACTIVE, "production", "o-carol", "t-security", "rp-critical"),
        ("ws-prod", ("ws.example.com",), 31, S.ACTIVE, "production", "o-alice", "t-platform", "rp-critical"),
        ("reports-staging", ("reports.staging.example.com",), 16, S.EXPIRING, "staging", "o-bob", "t-payments", "rp-default"),
        ("registry-int", ("registry.int.example.com",), 80, S.ACTIVE, "internal", "o-alice", "t-platform", "rp-internal"),
    ]
    # fmt: on
    return [DemoCert(*row) for row in rows]


class DemoSeeder:
    """Loads the demo estate through the services."""

    def __init__(
        self,
        *,
        now: datetime,
        inventory: dict[str, InventoryService[Any]],
        certificates: CertificateService,
        jobs: JobService,
        agents: AgentService,
    ) -> None:
        self.now = now
        self.inventory = inventory
        self.certificates = certificates
        self.jobs = jobs
        self.agents = agents
        self.ids: dict[str, str] = {}

    async def is_seeded(self) -> bool:
        """Whether the demo team exists already."""
        try:
            await self.inventory["teams"].get(SYSTEM_CALLER, DEMO_TEAM_ID)
        except NotFound:
            return False
        return True

    async def seed(self) -> int:
        """Create the estate unless present; return the number of certificates created."""
        if await self.is_seeded():
            return 0
        for agent_id, host, os_name, arch, ip, version, status, minutes in AGENTS:
            await self.agents.register(
                SYSTEM_CALLER,
                Agent(
                    id=agent_id,
                    name=host.split(".")[0],
                    created_at=self.now,
                    updated_at=self.now,
                    hostname=host,
                    os=os_name,
                    arch=arch,
                    ip_address=ip,
                    version=version,
                    status=status,
                    last_heartbeat_at=self.now - timedelta(minutes=minutes),
                ),
            )
        for kind, rows in (
            ("teams", TEAMS),
            ("owners", OWNERS),
            ("profiles", PROFILES),
            ("policies", POLICIES),
            ("issuers", ISSUERS),
            ("targets", TARGETS),
            ("channels", CHANNELS),
        ):
            for row in rows:
                await self.inventory[kind].create(SYSTEM_CALLER, row)
        ca = make_ca("certctl demo CA", self.now)
        for cert in _estate():
            await self._add(cert, ca)
        await self._jobs()
        return len(_estate())

    async def _jobs(self) -> None:
        """Jobs in the states an operator meets: failed, awaiting approval, rejected, queued."""
        for name, issuer_id, profile_id, outcome in DEMO_JOBS:
            cert_id = self.ids[name]
            changes: dict[str, Any] = {"issuer_id": issuer_id}
            if profile_id:
                changes["certificate_profile_id"] = profile_id
            await self.certificates.update(SYSTEM_CALLER, cert_id, changes)
            job = await self.jobs.request_renewal(SYSTEM_CALLER, cert_id)
            if outcome == "fail":
                await self.jobs.process_due()
            elif outcome == "reject":
                await self.jobs.reject(
                    SYSTEM_CALLER, job.id, "renewed in the spring change window instead"
                )

    async def _issue_locally(self, cert: DemoCert, refs: dict[str, Any]) -> None:
        """Create the certificate on the local CA and issue it from a CSR through a job."""
        cert_id = f"mc-{cert.name}"
        await self.certificates.create(
            SYSTEM_CALLER,
            {
                "id": cert_id,
                "name": cert.name,
                "common_name": cert.sans[0],
                "sans": list(cert.sans),
                "issuer_id": "iss-local",
                "certificate_profile_id": "cp-tls-server",
                **refs,
            },
        )
        await self.jobs.request_renewal(SYSTEM_CALLER, cert_id)
        csr_pem, _ = make_csr(cert.sans[0], cert.sans, "ECDSA-P256")
        await self.jobs.submit_csr(SYSTEM_CALLER, cert_id, csr_pem)

    async def _add(self, cert: DemoCert, ca: Any) -> None:
        refs = {
            "owner_id": cert.owner,
            "team_id": cert.team,
            "renewal_policy_id": cert.policy,
            "environment": cert.environment,
        }
        if cert.name in LOCAL_CA_CERTS:
            await self._issue_locally(cert, refs)
            return
        if cert.days_left is None:
            await self.certificates.create(
                SYSTEM_CALLER,
                {
                    "id": f"mc-{cert.name}",
                    "name": cert.name,
                    "common_name": cert.sans[0],
                    "sans": list(cert.sans),
                    "status": cert.status,
                    "issuer_id": "iss-local",
                    **refs,
                },
            )
            return
        not_after = self.now + timedelta(days=cert.days_left)
        pem = mint_leaf(
            ca,
            common_name=cert.sans[0],
            sans=list(cert.sans),
            not_before=not_after - timedelta(days=90),
            not_after=not_after,
        )
        created, _ = await self.certificates.import_pem(
            SYSTEM_CALLER, pem, {"name": cert.name, **refs}
        )
        self.ids[cert.name] = created.id
        await self._settle_status(created.id, created.status, cert.status)

    async def _settle_status(
        self, cert_id: str, current: CertificateStatus, wanted: CertificateStatus
    ) -> None:
        S = CertificateStatus
        if wanted is S.ARCHIVED:
            await self.certificates.archive(SYSTEM_CALLER, cert_id)
        elif wanted is S.REVOKED:
            await self.certificates.mark_revoked(SYSTEM_CALLER, cert_id, reason="keyCompromise")
        elif wanted is not current:
            await self.certificates.update(SYSTEM_CALLER, cert_id, {"status": wanted})
