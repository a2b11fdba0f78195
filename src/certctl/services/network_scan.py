"""Server-side network scans (C8): probe CIDR ranges and ports for TLS and record what is served.

A scan is stored Pending when requested; whoever runs it first (the request's background task
or the scheduler loop after a restart) moves it to Running, so it runs once. Probes run with
bounded concurrency and a per-connection deadline; every address passes the SSRF guard when
the scan is requested.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import structlog

from certctl.connectors import ssrf
from certctl.connectors.tlsprobe import ProbeFailed, ServedChain, probe
from certctl.db.uow import UnitOfWork
from certctl.domain.access import SYSTEM_CALLER, Caller, Permission
from certctl.domain.discovery import (
    DiscoveredCertificate,
    DiscoveredEndpoint,
    DiscoveryScan,
    DiscoverySource,
    DiscoveryStatus,
    Network,
    ScanStatus,
    check_ports,
    parse_scan_targets,
    plan_probes,
    scan_hosts,
)
from certctl.domain.ids import new_id
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.pki.certfiles import served_chain
from certctl.services.audit import record
from certctl.services.runtime import Runtime

log = structlog.get_logger("certctl.discovery")
Prober = Callable[..., Awaitable[ServedChain]]


@dataclasses.dataclass(frozen=True)
class ScanLimits:
    """How a scan probes: concurrency, per-connection deadline, private ranges allowed."""

    concurrency: int = 64
    timeout_seconds: float = 3.0
    allow_private: bool = False


class NetworkScanService:
    """Request, run and read network scans."""

    def __init__(self, runtime: Runtime, limits: ScanLimits, *, prober: Prober = probe) -> None:
        self.runtime = runtime
        self.limits = limits
        self.prober = prober

    async def start(
        self,
        caller: Caller,
        cidrs: Sequence[str],
        ports: Sequence[int],
        *,
        server_name: str | None = None,
    ) -> DiscoveryScan:
        """Validate and store a Pending scan (400 naming the field on bad input)."""
        caller.principal.require(Permission.WRITE)
        networks = parse_scan_targets(cidrs)
        checked_ports = check_ports(ports)
        for position, network in enumerate(networks):
            self._guard(network, f"cidrs[{position}]")
        planned = plan_probes(networks, checked_ports)
        now = self.runtime.clock.now()
        scan = DiscoveryScan(
            id=new_id("scan", now),
            cidrs=tuple(str(n) for n in networks),
            ports=checked_ports,
            status=ScanStatus.PENDING,
            requested_by=caller.principal.name,
            started_at=now,
            addresses=len(planned) // len(checked_ports),
            server_name=server_name or None,
        )
        async with self.runtime.db.uow() as uow:
            await uow.discovery_scans.add(scan)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="discovery_scan_requested",
                resource_type="discovery_scan",
                resource_id=scan.id,
                details={"cidrs": list(scan.cidrs), "ports": list(scan.ports)},
            )
        return scan

    def _guard(self, network: Network, field: str) -> None:
        for host in scan_hosts(network):
            ssrf.check_host(host, 0, allow_private=self.limits.allow_private, field=field)

    async def search(
        self, caller: Caller, *, request: PageRequest, sort: SortKey
    ) -> Page[DiscoveryScan]:
        """Scans, newest first by default."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            return await uow.discovery_scans.page(request=request, sort=sort)

    async def get(
        self, caller: Caller, scan_id: str
    ) -> tuple[DiscoveryScan, list[DiscoveredEndpoint]]:
        """One scan and the endpoints it found."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            scan = await uow.discovery_scans.require(scan_id)
            return scan, await uow.discovered_endpoints.for_scan(scan_id)

    async def run_pending(self) -> dict[str, int]:
        """Run every Pending scan (the scheduler loop's tick)."""
        async with self.runtime.db.uow() as uow:
            pending = await uow.discovery_scans.with_status(ScanStatus.PENDING)
        ran = 0
        for scan in pending:
            ran += await self.run(scan.id) is not None
        return {"scans_run": ran}

    async def run(self, scan_id: str) -> DiscoveryScan | None:
        """Run one Pending scan to the end; None when another runner already took it."""
        async with self.runtime.db.uow() as uow:
            scan = await uow.discovery_scans.take_pending(scan_id)
        if scan is None:
            return None
        try:
            networks = parse_scan_targets(scan.cidrs)
            served = await self._probe_all(plan_probes(networks, scan.ports), scan.server_name)
            return await self._finish(scan, served)
        except Exception as exc:
            # A scan that cannot finish says so instead of staying Running for ever.
            log.exception("discovery.scan_failed", scan_id=scan.id)
            return await self._failed(scan, f"{type(exc).__name__}: {exc}"[:2000])

    async def _failed(self, scan: DiscoveryScan, error: str) -> DiscoveryScan:
        failed = dataclasses.replace(
            scan, status=ScanStatus.FAILED, finished_at=self.runtime.clock.now(), error=error
        )
        async with self.runtime.db.uow() as uow:
            await uow.discovery_scans.update(failed)
            await record(
                uow,
                self.runtime,
                caller=SYSTEM_CALLER,
                action="discovery_scan_failed",
                resource_type="discovery_scan",
                resource_id=scan.id,
                details={"error": error},
            )
        return failed

    async def _probe_all(
        self, planned: Sequence[tuple[str, int]], server_name: str | None
    ) -> list[ServedChain]:
        gate = asyncio.Semaphore(self.limits.concurrency)

        async def one(host: str, port: int) -> ServedChain | None:
            async with gate:
                try:
                    return await self.prober(
                        host,
                        port,
                        server_name=server_name,
                        deadline_seconds=self.limits.timeout_seconds,
                    )
                except ProbeFailed:
                    return None

        results = await asyncio.gather(*(one(h, p) for h, p in planned))
        return [r for r in results if r is not None]

    async def _finish(self, scan: DiscoveryScan, served: Sequence[ServedChain]) -> DiscoveryScan:
        now = self.runtime.clock.now()
        found = 0
        async with self.runtime.db.uow() as uow:
            for chain in served:
                found += await self._record(uow, scan, chain, now)
            done = dataclasses.replace(
                scan,
                status=ScanStatus.COMPLETED,
                finished_at=now,
                probed=scan.addresses * len(scan.ports),
                endpoints_found=len(served),
                certificates_found=found,
            )
            await uow.discovery_scans.update(done)
            await record(
                uow,
                self.runtime,
                caller=SYSTEM_CALLER,
                action="discovery_scan_completed",
                resource_type="discovery_scan",
                resource_id=scan.id,
                details={"endpoints_found": len(served), "new_certificates": found},
            )
        log.info("discovery.scan_completed", scan_id=scan.id, endpoints=len(served))
        return done

    async def _record(
        self, uow: UnitOfWork, scan: DiscoveryScan, chain: ServedChain, now: datetime
    ) -> int:
        try:
            facts, pem = served_chain(chain.chain_der)
        except ValueError:
            log.warning("discovery.undecodable_chain", host=chain.host, port=chain.port)
            return 0
        item = DiscoveredCertificate(
            id=new_id("disc", now),
            source=DiscoverySource.NETWORK,
            location=f"{_bracketed(chain.host)}:{chain.port}",
            fingerprint_sha256=facts.fingerprint_sha256,
            common_name=facts.common_name,
            sans=facts.sans,
            subject_dn=facts.subject_dn,
            issuer_dn=facts.issuer_dn,
            serial_number=facts.serial_number,
            not_before=facts.not_before,
            not_after=facts.not_after,
            key_algorithm=facts.key_algorithm,
            key_size=facts.key_size,
            is_ca=facts.is_ca,
            format="DER",
            pem=pem,
            status=DiscoveryStatus.UNMANAGED,
            first_seen_at=now,
            last_seen_at=now,
            agent_id=None,
            scan_id=scan.id,
        )
        stored, created = await uow.discoveries.record_seen(item)
        await uow.discovered_endpoints.add(
            DiscoveredEndpoint(
                id=new_id("ep", now),
                scan_id=scan.id,
                host=chain.host,
                port=chain.port,
                chain_pem=pem,
                leaf_fingerprint_sha256=chain.leaf_sha256,
                discovered_at=now,
                server_name=chain.server_name,
                discovery_id=stored.id,
            )
        )
        return int(created)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
