"""Discovered certificates (C8): agent reports, listing, summary and triage (claim, dismiss)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller, Permission, Role
from certctl.domain.certificates import CertificateSource, CertificateVersion, ManagedCertificate
from certctl.domain.discovery import (
    DiscoveredCertificate,
    DiscoveredEndpoint,
    DiscoveredFile,
    DiscoveryFilter,
    DiscoverySource,
    DiscoveryStatus,
    DiscoverySummary,
    check_dismiss_reason,
    check_triage,
)
from certctl.domain.ids import new_id
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.errors import InvalidRequest
from certctl.services.audit import record
from certctl.services.certificates import CertificateService
from certctl.services.runtime import Runtime

RESOURCE = "discovery"
MAX_REPORT_ITEMS = 10_000


@dataclass(frozen=True)
class ReportSummary:
    """What one agent report changed."""

    received: int
    new: int
    refreshed: int


@dataclass(frozen=True)
class Claimed:
    """A claim's outcome: the managed certificate, its first version and the discovery."""

    certificate: ManagedCertificate
    version: CertificateVersion
    discovery: DiscoveredCertificate


def _require_reporter(caller: Caller) -> None:
    # The agent route authenticates the agent itself; people may report on its behalf
    # only with write permission (imports, tests).
    if caller.principal.role is not Role.AGENT:
        caller.principal.require(Permission.WRITE)


class DiscoveryService:
    """Use cases of discovered certificates."""

    def __init__(self, runtime: Runtime, certificates: CertificateService) -> None:
        self.runtime = runtime
        self.certificates = certificates

    async def report_from_agent(
        self, caller: Caller, agent_id: str, items: Sequence[DiscoveredFile]
    ) -> ReportSummary:
        """Record an agent's filesystem findings, de-duplicated by (fingerprint, agent, path)."""
        _require_reporter(caller)
        if len(items) > MAX_REPORT_ITEMS:
            raise InvalidRequest(f"at most {MAX_REPORT_ITEMS} items per report", field="items")
        now = self.runtime.clock.now()
        new = 0
        async with self.runtime.db.uow() as uow:
            await uow.agents.require(agent_id)
            for item in items:
                _, created = await uow.discoveries.record_seen(_from_file(agent_id, item, now))
                new += created
            summary = ReportSummary(received=len(items), new=new, refreshed=len(items) - new)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="discovery_reported",
                resource_type="agent",
                resource_id=agent_id,
                details=dataclasses.asdict(summary),
            )
        return summary

    async def search(
        self, caller: Caller, *, request: PageRequest, sort: SortKey, filters: DiscoveryFilter
    ) -> Page[DiscoveredCertificate]:
        """One filtered page of discoveries."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await uow.discoveries.search(request=request, sort=sort, filters=filters)

    async def get(
        self, caller: Caller, discovery_id: str
    ) -> tuple[DiscoveredCertificate, list[DiscoveredEndpoint]]:
        """One discovery and the endpoints that served it."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            found = await uow.discoveries.require(discovery_id)
            return found, await uow.discovered_endpoints.for_discovery(discovery_id)

    async def summary(self, caller: Caller) -> DiscoverySummary:
        """Counts by status, agent and scan, and unmanaged ones expiring within 30 days."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await uow.discoveries.summary(self.runtime.clock.now())

    async def claim(self, caller: Caller, discovery_id: str, fields: Mapping[str, Any]) -> Claimed:
        """Make a discovery a managed certificate (from its PEM) and mark it Claimed."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            found = await uow.discoveries.require(discovery_id)
            check_triage(found)
            if not found.pem:
                raise InvalidRequest(
                    "this discovery was reported without its certificate PEM; import it instead",
                    field="discovery_id",
                )
            cert, version = await self.certificates.import_in(
                uow,
                caller,
                found.pem,
                fields,
                action="certificate_claimed",
                source=CertificateSource.DISCOVERY,
            )
            if version.fingerprint_sha256 != found.fingerprint_sha256:
                raise InvalidRequest(
                    "the reported PEM is not the discovered certificate", field="discovery_id"
                )
            after = await self._triaged(
                uow,
                caller,
                found,
                DiscoveryStatus.CLAIMED,
                managed_certificate_id=cert.id,
                details={"certificate_id": cert.id, "fingerprint_sha256": found.fingerprint_sha256},
            )
        return Claimed(cert, version, after)

    async def dismiss(
        self, caller: Caller, discovery_id: str, reason: str
    ) -> DiscoveredCertificate:
        """Mark a discovery as not to be managed, with the reason."""
        caller.principal.require(Permission.WRITE)
        text = check_dismiss_reason(reason)
        async with self.runtime.db.uow() as uow:
            found = await uow.discoveries.require(discovery_id)
            check_triage(found)
            return await self._triaged(
                uow,
                caller,
                found,
                DiscoveryStatus.DISMISSED,
                dismissed_reason=text,
                details={"reason": text},
            )

    async def _triaged(
        self,
        uow: UnitOfWork,
        caller: Caller,
        found: DiscoveredCertificate,
        status: DiscoveryStatus,
        *,
        details: Mapping[str, Any],
        **changes: Any,
    ) -> DiscoveredCertificate:
        now = self.runtime.clock.now()
        after = dataclasses.replace(
            found, status=status, triaged_by=caller.principal.name, triaged_at=now, **changes
        )
        await uow.discoveries.update(after)
        await record(
            uow,
            self.runtime,
            caller=caller,
            action=f"discovery_{status.value.lower()}",
            resource_type=RESOURCE,
            resource_id=found.id,
            details={"location": found.location, **details},
        )
        return after


def _from_file(agent_id: str, item: DiscoveredFile, now: datetime) -> DiscoveredCertificate:
    return DiscoveredCertificate(
        id=new_id("disc", now),
        source=DiscoverySource.FILESYSTEM,
        location=item.path,
        fingerprint_sha256=item.fingerprint_sha256,
        common_name=item.common_name,
        sans=tuple(item.sans),
        subject_dn=item.subject_dn,
        issuer_dn=item.issuer_dn,
        serial_number=item.serial_number,
        not_before=item.not_before,
        not_after=item.not_after,
        key_algorithm=item.key_algorithm,
        key_size=item.key_size,
        is_ca=item.is_ca,
        format=item.format.value,
        pem=item.pem,
        status=DiscoveryStatus.UNMANAGED,
        first_seen_at=now,
        last_seen_at=now,
        agent_id=agent_id,
        index_in_file=item.index,
    )
