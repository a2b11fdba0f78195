"""Discovered certificates (de-duplicated per reporter and place), scans, endpoints and drift."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import (
    CertificateTargetRow,
    DeploymentTargetRow,
    DiscoveredCertificateRow,
    DiscoveredEndpointRow,
    DiscoveryScanRow,
    TargetDriftRow,
)
from certctl.db.repositories.base import Codec, Repository
from certctl.db.repositories.inventory import TARGET
from certctl.domain.discovery import (
    EXPIRING_WITHIN,
    NETWORK_REPORTER,
    DiscoveredCertificate,
    DiscoveredEndpoint,
    DiscoveryFilter,
    DiscoveryScan,
    DiscoverySource,
    DiscoveryStatus,
    DiscoverySummary,
    ScanStatus,
)
from certctl.domain.drift import Drift, DriftKind
from certctl.domain.inventory import DeploymentTarget
from certctl.domain.listing import Page, PageRequest, SortKey

FOUND = Codec(
    DiscoveredCertificate,
    {"source": DiscoverySource, "status": DiscoveryStatus},
    skip=("agent_id",),
)
SCAN = Codec(DiscoveryScan, {"status": ScanStatus})
ENDPOINT = Codec(DiscoveredEndpoint)
DRIFT = Codec(Drift, {"kind": DriftKind})
Row = DiscoveredCertificateRow


class DiscoveryRepository(Repository[DiscoveredCertificate]):
    """Discovered certificates; the reporter column holds the agent id or `network`."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(
            session, Row, FOUND, "discovery", ("common_name", "location", "fingerprint_sha256")
        )

    def decode(self, row: Any) -> DiscoveredCertificate:
        """Domain object; the network reporter reads back as no agent."""
        agent = None if row.reporter == NETWORK_REPORTER else row.reporter
        return self.codec.from_row(row, agent_id=agent)

    async def add(self, obj: DiscoveredCertificate) -> DiscoveredCertificate:
        """Insert with its reporter column."""
        self.session.add(Row(**self.codec.to_columns(obj), reporter=_reporter(obj)))
        await self._flush()
        return obj

    async def record_seen(self, found: DiscoveredCertificate) -> tuple[DiscoveredCertificate, bool]:
        """Insert a new finding, or refresh last_seen_at (and scan) of the same one; True if new."""
        stmt = select(Row).where(
            Row.fingerprint_sha256 == found.fingerprint_sha256,
            Row.reporter == _reporter(found),
            Row.location == found.location,
        )
        row = (await self.session.scalars(stmt.with_for_update())).first()
        if row is None:
            return await self.add(found), True
        row.last_seen_at = found.last_seen_at
        row.index_in_file = found.index_in_file
        row.scan_id = found.scan_id or row.scan_id
        row.pem = row.pem or found.pem
        await self._flush()
        return self.decode(row), False

    async def search(
        self, *, request: PageRequest, sort: SortKey, filters: DiscoveryFilter
    ) -> Page[DiscoveredCertificate]:
        """One filtered page."""
        return await self.page(request=request, sort=sort, q=filters.q, where=_where(filters))

    async def summary(self, now: datetime) -> DiscoverySummary:
        """Counts by status, agent and scan; unmanaged ones expiring within 30 days or expired."""
        by_status = {s.value: 0 for s in DiscoveryStatus}
        for status, n in await self._grouped(Row.status):
            by_status[status] = n
        by_agent = dict(await self._grouped(Row.reporter, Row.reporter != NETWORK_REPORTER))
        by_scan = dict(await self._grouped(Row.scan_id, Row.scan_id.is_not(None)))
        unmanaged = Row.status == DiscoveryStatus.UNMANAGED.value
        expired = await self._count(unmanaged, Row.not_after <= now)
        soon = await self._count(
            unmanaged, Row.not_after > now, Row.not_after <= now + EXPIRING_WITHIN
        )
        return DiscoverySummary(
            total=sum(by_status.values()),
            by_status=by_status,
            expiring_within_30_days=soon,
            expired=expired,
            by_agent=by_agent,
            by_scan=by_scan,
        )

    async def _grouped(self, column: Any, *where: ColumnElement[bool]) -> list[tuple[str, int]]:
        stmt = select(column, func.count()).where(*where).group_by(column)
        return [(str(k), int(n)) for k, n in (await self.session.execute(stmt)).all()]

    async def _count(self, *where: ColumnElement[bool]) -> int:
        return int(
            await self.session.scalar(select(func.count()).select_from(Row).where(*where)) or 0
        )


def _reporter(found: DiscoveredCertificate) -> str:
    return found.agent_id or NETWORK_REPORTER


def _where(f: DiscoveryFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if f.status is not None:
        clauses.append(Row.status == f.status.value)
    if f.source is not None:
        clauses.append(Row.source == f.source.value)
    if f.agent_id is not None:
        clauses.append(Row.reporter == f.agent_id)
    if f.scan_id is not None:
        clauses.append(Row.scan_id == f.scan_id)
    if f.expiring_before is not None:
        clauses.append(Row.not_after <= f.expiring_before)
    return clauses


class ScanRepository(Repository[DiscoveryScan]):
    """Network scans."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, DiscoveryScanRow, SCAN, "discovery_scan", ("id",))

    async def with_status(self, status: ScanStatus) -> list[DiscoveryScan]:
        """Scans in one status, oldest first."""
        stmt = (
            select(DiscoveryScanRow)
            .where(DiscoveryScanRow.status == status.value)
            .order_by(DiscoveryScanRow.started_at, DiscoveryScanRow.id)
        )
        return [self.decode(r) for r in (await self.session.scalars(stmt)).all()]

    async def take_pending(self, scan_id: str) -> DiscoveryScan | None:
        """Move a Pending scan to Running; None when it is no longer Pending (taken already)."""
        result = await self.session.execute(
            update(DiscoveryScanRow)
            .where(
                DiscoveryScanRow.id == scan_id,
                DiscoveryScanRow.status == ScanStatus.PENDING.value,
            )
            .values(status=ScanStatus.RUNNING.value)
        )
        if not getattr(result, "rowcount", 0):
            return None
        return await self.get(scan_id)


class EndpointRepository(Repository[DiscoveredEndpoint]):
    """Endpoints found by scans."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, DiscoveredEndpointRow, ENDPOINT, "discovered_endpoint", ("host",))

    async def for_scan(self, scan_id: str) -> list[DiscoveredEndpoint]:
        """The endpoints of one scan, by host and port."""
        stmt = (
            select(DiscoveredEndpointRow)
            .where(DiscoveredEndpointRow.scan_id == scan_id)
            .order_by(DiscoveredEndpointRow.host, DiscoveredEndpointRow.port)
        )
        return [self.decode(r) for r in (await self.session.scalars(stmt)).all()]

    async def for_discovery(self, discovery_id: str) -> list[DiscoveredEndpoint]:
        """Where a discovered certificate was served, newest first."""
        stmt = (
            select(DiscoveredEndpointRow)
            .where(DiscoveredEndpointRow.discovery_id == discovery_id)
            .order_by(DiscoveredEndpointRow.discovered_at.desc())
        )
        return [self.decode(r) for r in (await self.session.scalars(stmt)).all()]


class DriftRepository:
    """Open drifts, one per certificate-target mapping at most."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, certificate_id: str, target_id: str) -> Drift | None:
        """The open drift of one mapping."""
        row = await self.session.get(TargetDriftRow, (certificate_id, target_id))
        return None if row is None else DRIFT.from_row(row)

    async def save(self, drift: Drift) -> None:
        """Insert or overwrite the mapping's drift."""
        await self.session.merge(TargetDriftRow(**DRIFT.to_columns(drift)))
        await self.session.flush()

    async def clear(self, certificate_id: str, target_id: str) -> bool:
        """Remove the mapping's drift; True when there was one."""
        result = await self.session.execute(
            delete(TargetDriftRow).where(
                TargetDriftRow.certificate_id == certificate_id,
                TargetDriftRow.target_id == target_id,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def all(self) -> list[Drift]:
        """Every open drift, newest first."""
        stmt = select(TargetDriftRow).order_by(
            TargetDriftRow.detected_at.desc(), TargetDriftRow.certificate_id
        )
        return [DRIFT.from_row(r) for r in (await self.session.scalars(stmt)).all()]

    async def checked_mappings(self) -> list[tuple[DeploymentTarget, str]]:
        """Enabled targets with a verify endpoint, each with every certificate mapped to it."""
        stmt = (
            select(DeploymentTargetRow, CertificateTargetRow.certificate_id)
            .join(CertificateTargetRow, CertificateTargetRow.target_id == DeploymentTargetRow.id)
            .where(DeploymentTargetRow.enabled.is_(True))
            .order_by(DeploymentTargetRow.id, CertificateTargetRow.certificate_id)
        )
        pairs = (await self.session.execute(stmt)).all()
        return [
            (TARGET.from_row(t), c) for t, c in pairs if (t.config or {}).get("verify_endpoint")
        ]
