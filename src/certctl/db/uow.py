"""Unit of work: one session and transaction, with every repository bound to it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from certctl.db.repositories import inventory
from certctl.db.repositories.acme import AcmeRepository
from certctl.db.repositories.agents import AgentRepository
from certctl.db.repositories.alerts import AlertRepository
from certctl.db.repositories.audit import AuditRepository
from certctl.db.repositories.base import conflict_from
from certctl.db.repositories.certificates import (
    AlertCandidate,
    CertificateRepository,
    VersionRepository,
    alert_candidates,
)
from certctl.db.repositories.discovery import (
    DiscoveryRepository,
    DriftRepository,
    EndpointRepository,
    ScanRepository,
)
from certctl.db.repositories.issuance_reads import IssuingCertificates, read_issuing
from certctl.db.repositories.jobs import JobRepository
from certctl.db.repositories.notifications import NotificationRepository, channels
from certctl.db.repositories.pki import PkiRepository
from certctl.db.repositories.ratelimits import RateLimitRepository
from certctl.db.repositories.renewal_info import RenewalInfoRepository
from certctl.db.repositories.revocation_notices import RevocationNoticeRepository
from certctl.db.repositories.silences import (
    GateRepository,
    quiet_hours,
    route_overrides,
    silences,
)
from certctl.db.repositories.users import SessionRepository, UserRepository

__all__ = [
    "AlertCandidate",
    "IssuingCertificates",
    "UnitOfWork",
    "UnitOfWorkFactory",
]


class UnitOfWork:
    """A transaction; commits when the block ends cleanly, rolls back on any exception."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.teams = inventory.teams(session)
        self.owners = inventory.owners(session)
        self.profiles = inventory.profiles(session)
        self.policies = inventory.policies(session)
        self.issuers = inventory.issuers(session)
        self.targets = inventory.targets(session)
        self.agents = AgentRepository(session)
        self.agent_groups = inventory.agent_groups(session)
        self.api_keys = inventory.ApiKeyRepository(session)
        self.certificates = CertificateRepository(session)
        self.versions = VersionRepository(session)
        self.audit = AuditRepository(session)
        self.notifications = NotificationRepository(session)
        self.channels = channels(session)
        self.pki = PkiRepository(session)
        self.users = UserRepository(session)
        self.dashboard_sessions = SessionRepository(session)
        self.jobs = JobRepository(session)
        self.acme = AcmeRepository(session)
        self.revocation_notices = RevocationNoticeRepository(session)
        self.rate_limits = RateLimitRepository(session)
        self.renewal_info = RenewalInfoRepository(session)
        self.discoveries = DiscoveryRepository(session)
        self.discovery_scans = ScanRepository(session)
        self.discovered_endpoints = EndpointRepository(session)
        self.drift = DriftRepository(session)
        self.alerts = AlertRepository(session)
        self.silences = silences(session)
        self.quiet_hours = quiet_hours(session)
        self.gates = GateRepository(session)
        self.route_overrides = route_overrides(session)

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                await self._commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def _commit(self) -> None:
        try:
            # Audit rows go last: the chain head stays locked only for them and the commit.
            await self.audit.append_pending()
            await self.session.commit()
        except IntegrityError as exc:
            await self.session.rollback()
            raise conflict_from(exc, "resource") from exc

    async def alert_candidates(self, *, until: datetime) -> list[AlertCandidate]:
        """Certificates that may need an expiry alert or a status change."""
        return await alert_candidates(self.session, until=until)

    async def issuing_certificates(self, certificate_ids: Sequence[str]) -> IssuingCertificates:
        """The certificates a batch of new versions is written over (one statement)."""
        return await read_issuing(await self.session.connection(), certificate_ids)

    async def ping(self) -> None:
        """Run a trivial query to prove the database answers."""
        await self.session.execute(text("SELECT 1"))


class UnitOfWorkFactory:
    """Creates units of work on one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        single = engine
        if engine.dialect.name == "postgresql":
            single = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._single = async_sessionmaker(single, expire_on_commit=False, autoflush=False)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._sessions())

    def single_statement(self) -> UnitOfWork:
        """A unit of work whose one write (or reads) PostgreSQL runs as its own transaction:
        no BEGIN and COMMIT round trips. Never for more than one write, nor for audit rows."""
        return UnitOfWork(self._single())
