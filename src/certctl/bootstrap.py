"""The composition root: builds the application context from settings, nothing at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from certctl import __version__
from certctl.clock import Clock, SystemClock
from certctl.connectors.notifiers.transport import AiohttpTransport, HttpTransport
from certctl.db.database import Database
from certctl.db.engine import DATABASE_UNAVAILABLE
from certctl.domain.inventory import AgentGroup, DeploymentTarget, Issuer, Owner, Team
from certctl.domain.notifications import NotificationChannel
from certctl.domain.policies import CertificateProfile, RenewalPolicy
from certctl.domain.quiet_hours import QuietHours
from certctl.domain.ratelimits import Backoff, Rule
from certctl.domain.route_overrides import RouteOverride
from certctl.metrics import Metrics
from certctl.pki.sealing import Sealer
from certctl.services.agent_protocol import AgentProtocolService
from certctl.services.agents import AgentService
from certctl.services.alert_records import AlertRecords
from certctl.services.alerts import AlertService
from certctl.services.apikeys import ApiKeyService
from certctl.services.audit import AuditService
from certctl.services.certificates import CertificateService
from certctl.services.discovery import DiscoveryService
from certctl.services.drift import DriftService
from certctl.services.inventory import InventoryService
from certctl.services.issuance import IssuanceService
from certctl.services.issuers import (
    IssuerConnectors,
    IssuerReach,
    IssuerRevocations,
    IssuerTests,
)
from certctl.services.jobs import JobService
from certctl.services.network_scan import NetworkScanService, ScanLimits
from certctl.services.notifications import NotificationService
from certctl.services.ocsp import OcspService
from certctl.services.pki import PkiService
from certctl.services.ratelimits import RateLimiter
from certctl.services.resources import (
    AGENT_GROUPS,
    NOTIFICATION_CHANNELS,
    OWNERS,
    POLICIES,
    PROFILES,
    TARGETS,
    TEAMS,
    issuers_spec,
)
from certctl.services.revocation import RevocationService
from certctl.services.route_overrides import ROUTE_OVERRIDES
from certctl.services.runtime import Runtime
from certctl.services.silences import QUIET_HOURS, SilenceService
from certctl.services.stats import StatsService
from certctl.services.users import UserService
from certctl.settings import Settings

__all__ = ["DATABASE_UNAVAILABLE", "AppContext", "build_context", "migrate"]


@dataclass
class AppContext:
    """Everything the adapters (API, CLI, loops) use, built once per process."""

    settings: Settings
    runtime: Runtime
    metrics: Metrics
    api_keys: ApiKeyService
    audit: AuditService
    certificates: CertificateService
    teams: InventoryService[Team]
    owners: InventoryService[Owner]
    profiles: InventoryService[CertificateProfile]
    policies: InventoryService[RenewalPolicy]
    issuers: InventoryService[Issuer]
    targets: InventoryService[DeploymentTarget]
    agent_groups: InventoryService[AgentGroup]
    stats: StatsService
    http: HttpTransport
    alerts: AlertService
    alert_records: AlertRecords
    notifications: NotificationService
    channels: InventoryService[NotificationChannel]
    pki: PkiService
    revocation: RevocationService
    ocsp: OcspService
    issuer_connectors: IssuerConnectors
    issuance: IssuanceService
    issuer_tests: IssuerTests
    jobs: JobService
    agents: AgentService
    agent_protocol: AgentProtocolService
    users: UserService
    rate_limits: RateLimiter
    discovery: DiscoveryService
    network_scans: NetworkScanService
    drift: DriftService
    silences: SilenceService
    quiet_hours: InventoryService[QuietHours]
    route_overrides: InventoryService[RouteOverride]

    @property
    def clock(self) -> Clock:
        """The injected clock."""
        return self.runtime.clock

    async def aclose(self) -> None:
        """Release the outbound HTTP client and the database connections."""
        await self.http.aclose()
        await self.runtime.db.dispose()


def build_context(settings: Settings, *, clock: Clock | None = None) -> AppContext:
    """Wire every service to one database, clock, sealer and metrics registry."""
    key = settings.config_encryption_key
    runtime = Runtime(
        db=Database(settings.database_url, pool_size=settings.database_pool_size),
        clock=clock or SystemClock(),
        sealer=Sealer(key.get_secret_value()) if key is not None else None,
        alerting=settings.alerting(),
    )
    metrics = Metrics()
    http = AiohttpTransport(
        pool_size=max(100, settings.notification_concurrency),
        user_agent=f"certctl/{__version__}",
    )
    certificates = CertificateService(
        runtime, extra_recipients=settings.extra_recipients(), metrics=metrics
    )
    pki = PkiService(runtime, certificates, public_url=settings.public_url)
    connectors = IssuerConnectors(runtime, pki, allow_private=settings.allow_private_targets)
    issuance = IssuanceService(runtime, connectors, metrics=metrics)
    ocsp = OcspService(runtime, pki)
    revocation = RevocationService(
        runtime, certificates, pki, ocsp, remote=IssuerRevocations(runtime, connectors)
    )
    named_keys = settings.named_keys()
    api_keys = ApiKeyService(runtime, named_keys)
    jobs = JobService(
        runtime,
        issuance,
        keygen_mode=settings.keygen_mode,
        extra_recipients=settings.extra_recipients(),
        metrics=metrics,
        lease=timedelta(seconds=settings.job_lease_seconds),
    )
    token = settings.agent_bootstrap_token
    return AppContext(
        settings=settings,
        runtime=runtime,
        metrics=metrics,
        api_keys=api_keys,
        audit=AuditService(runtime, metrics),
        certificates=certificates,
        teams=InventoryService(runtime, TEAMS),
        owners=InventoryService(runtime, OWNERS),
        profiles=InventoryService(runtime, PROFILES),
        policies=InventoryService(runtime, POLICIES),
        issuers=InventoryService(runtime, issuers_spec(IssuerReach(connectors))),
        targets=InventoryService(runtime, TARGETS),
        agent_groups=InventoryService(runtime, AGENT_GROUPS),
        stats=StatsService(runtime),
        http=http,
        alerts=AlertService(
            runtime,
            metrics,
            public_url=settings.public_url,
            extra_recipients=settings.extra_recipients(),
        ),
        alert_records=AlertRecords(runtime, metrics),
        notifications=NotificationService(runtime, metrics, settings, http),
        channels=InventoryService(runtime, NOTIFICATION_CHANNELS),
        silences=SilenceService(runtime),
        quiet_hours=InventoryService(runtime, QUIET_HOURS),
        route_overrides=InventoryService(runtime, ROUTE_OVERRIDES),
        pki=pki,
        revocation=revocation,
        ocsp=ocsp,
        issuer_connectors=connectors,
        issuance=issuance,
        issuer_tests=IssuerTests(runtime, connectors),
        agents=AgentService(runtime),
        jobs=jobs,
        agent_protocol=AgentProtocolService(
            runtime,
            jobs,
            bootstrap_token=token.get_secret_value() if token else None,
            demo=settings.demo_mode_ack,
            lease=timedelta(seconds=settings.job_lease_seconds),
        ),
        users=UserService(runtime, api_keys, named_keys),
        rate_limits=RateLimiter(
            runtime,
            api_key=Rule(settings.rate_limit_api_key_per_minute),
            address=Rule(settings.rate_limit_address_per_minute),
            backoff=Backoff(
                after=settings.signin_backoff_after,
                base_seconds=settings.signin_backoff_base_seconds,
                cap_seconds=settings.signin_backoff_max_seconds,
            ),
        ),
        discovery=DiscoveryService(runtime, certificates),
        network_scans=NetworkScanService(
            runtime,
            ScanLimits(
                concurrency=settings.discovery_scan_concurrency,
                timeout_seconds=settings.discovery_probe_timeout_seconds,
                allow_private=settings.allow_private_targets,
            ),
        ),
        drift=DriftService(
            runtime,
            allow_private=settings.allow_private_targets,
            timeout_seconds=settings.discovery_probe_timeout_seconds,
            extra_recipients=tuple(settings.extra_recipients()),
        ),
    )


async def migrate(settings: Settings) -> None:
    """Bring the configured database to the newest schema (idempotent)."""
    db = Database(settings.database_url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()
