"""Discovery (C8): certificates found on hosts and endpoints, their triage, and scan limits."""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from certctl.errors import Conflict, InvalidRequest

MAX_SCAN_ADDRESSES = 4096
"""At most a /20 of IPv4 (or a /116 of IPv6) per scan target."""
MAX_SCAN_TARGETS = 16
MAX_SCAN_PORTS = 32
MAX_SCAN_PROBES = 65536
"""Most connections one scan may open (addresses times ports)."""
EXPIRING_WITHIN = timedelta(days=30)
NETWORK_REPORTER = "network"
"""Who reported a certificate found by a server-side network scan (no agent)."""


class CertificateFormat(enum.StrEnum):
    """How a certificate was stored in the file it was found in."""

    PEM = "PEM"
    DER = "DER"


class DiscoveryStatus(enum.StrEnum):
    """Triage state of a discovered certificate."""

    UNMANAGED = "Unmanaged"
    CLAIMED = "Claimed"
    DISMISSED = "Dismissed"


class DiscoverySource(enum.StrEnum):
    """Where a certificate was found."""

    FILESYSTEM = "filesystem"
    NETWORK = "network"


class ScanStatus(enum.StrEnum):
    """Where a network scan is in its life."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"


@dataclass(frozen=True)
class DiscoveredFile:
    """One certificate found in a file by the agent (several per PEM bundle, one per DER)."""

    path: str
    index: int
    fingerprint_sha256: str
    common_name: str
    sans: tuple[str, ...]
    subject_dn: str
    issuer_dn: str
    serial_number: str
    not_before: datetime
    not_after: datetime
    key_algorithm: str
    key_size: int
    is_ca: bool
    format: CertificateFormat
    pem: str = ""
    """The certificate alone, as PEM (never a key): what a claim turns into a version."""


@dataclass(frozen=True)
class DiscoveredCertificate:
    """A certificate the server knows was found somewhere, with its triage state."""

    id: str
    source: DiscoverySource
    location: str
    """The file path, or `host:port` of the endpoint that served it."""
    fingerprint_sha256: str
    common_name: str
    sans: tuple[str, ...]
    subject_dn: str
    issuer_dn: str
    serial_number: str
    not_before: datetime
    not_after: datetime
    key_algorithm: str
    key_size: int
    is_ca: bool
    format: str
    pem: str
    status: DiscoveryStatus
    first_seen_at: datetime
    last_seen_at: datetime
    agent_id: str | None = None
    index_in_file: int = 0
    scan_id: str | None = None
    managed_certificate_id: str | None = None
    dismissed_reason: str | None = None
    triaged_by: str | None = None
    triaged_at: datetime | None = None


@dataclass(frozen=True)
class DiscoveryFilter:
    """Criteria of a discovery listing; unset fields do not filter."""

    status: DiscoveryStatus | None = None
    source: DiscoverySource | None = None
    agent_id: str | None = None
    scan_id: str | None = None
    expiring_before: datetime | None = None
    q: str | None = None


@dataclass(frozen=True)
class DiscoveryScan:
    """A server-side network scan of address ranges and ports."""

    id: str
    cidrs: tuple[str, ...]
    ports: tuple[int, ...]
    status: ScanStatus
    requested_by: str
    started_at: datetime
    addresses: int = 0
    probed: int = 0
    endpoints_found: int = 0
    certificates_found: int = 0
    server_name: str | None = None
    finished_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class DiscoveredEndpoint:
    """One TLS endpoint a scan found, with the chain it served (leaf first, PEM)."""

    id: str
    scan_id: str
    host: str
    port: int
    chain_pem: str
    leaf_fingerprint_sha256: str
    discovered_at: datetime
    server_name: str | None = None
    discovery_id: str | None = None


@dataclass(frozen=True)
class DiscoverySummary:
    """Counts for the triage view."""

    total: int
    by_status: dict[str, int]
    expiring_within_30_days: int
    expired: int
    by_agent: dict[str, int] = field(default_factory=dict)
    by_scan: dict[str, int] = field(default_factory=dict)


def summarize(found: Sequence[DiscoveredCertificate], now: datetime) -> DiscoverySummary:
    """Counts by status, by agent and by scan; expiring soon counts unmanaged ones only."""
    by_status = {s.value: 0 for s in DiscoveryStatus}
    by_agent: dict[str, int] = {}
    by_scan: dict[str, int] = {}
    expiring = expired = 0
    for item in found:
        by_status[item.status.value] += 1
        if item.agent_id:
            by_agent[item.agent_id] = by_agent.get(item.agent_id, 0) + 1
        if item.scan_id:
            by_scan[item.scan_id] = by_scan.get(item.scan_id, 0) + 1
        if item.status is not DiscoveryStatus.UNMANAGED:
            continue
        if item.not_after <= now:
            expired += 1
        elif item.not_after - now <= EXPIRING_WITHIN:
            expiring += 1
    return DiscoverySummary(
        total=len(found),
        by_status=by_status,
        expiring_within_30_days=expiring,
        expired=expired,
        by_agent=by_agent,
        by_scan=by_scan,
    )


def check_triage(item: DiscoveredCertificate) -> None:
    """Only an unmanaged discovery can be claimed or dismissed."""
    if item.status is not DiscoveryStatus.UNMANAGED:
        raise Conflict(f"discovery {item.id} is already {item.status.value}")


def check_dismiss_reason(reason: str) -> str:
    """A dismissal says why: trimmed, 1 to 1000 characters."""
    text = reason.strip()
    if not text:
        raise InvalidRequest("a reason is required", field="reason")
    if len(text) > 1000:
        raise InvalidRequest("reason must be at most 1000 characters", field="reason")
    return text


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_scan_targets(cidrs: Sequence[str]) -> tuple[Network, ...]:
    """Parse CIDRs (or single addresses); each may cover at most 4096 addresses (a /20)."""
    if not cidrs:
        raise InvalidRequest("at least one CIDR is required", field="cidrs")
    if len(cidrs) > MAX_SCAN_TARGETS:
        raise InvalidRequest(f"at most {MAX_SCAN_TARGETS} CIDRs per scan", field="cidrs")
    return tuple(_parse_network(text, i) for i, text in enumerate(cidrs))


def _parse_network(text: str, position: int) -> Network:
    where = f"cidrs[{position}]"
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise InvalidRequest(f"{text!r} is not a CIDR or an address", field=where) from exc
    if network.num_addresses > MAX_SCAN_ADDRESSES:
        smallest = 32 if network.version == 4 else 128
        limit = smallest - (MAX_SCAN_ADDRESSES.bit_length() - 1)
        raise InvalidRequest(
            f"{network} has {network.num_addresses} addresses; a scan target may be at most "
            f"a /{limit} ({MAX_SCAN_ADDRESSES} addresses)",
            field=where,
        )
    return network


def check_ports(ports: Sequence[int]) -> tuple[int, ...]:
    """Ports 1-65535, at least one and at most 32, duplicates dropped (order kept)."""
    if not ports:
        raise InvalidRequest("at least one port is required", field="ports")
    unique = tuple(dict.fromkeys(ports))
    if len(unique) > MAX_SCAN_PORTS:
        raise InvalidRequest(f"at most {MAX_SCAN_PORTS} ports per scan", field="ports")
    for port in unique:
        if not 1 <= port <= 65535:
            raise InvalidRequest(f"port {port} is outside 1-65535", field="ports")
    return unique


def scan_hosts(network: Network) -> list[str]:
    """The addresses a scan probes: the usable hosts of the network, or its single address."""
    if network.num_addresses == 1:
        return [str(network.network_address)]
    return [str(h) for h in network.hosts()]


def plan_probes(networks: Sequence[Network], ports: Sequence[int]) -> list[tuple[str, int]]:
    """Every (address, port) pair a scan connects to; more than 65536 is refused."""
    hosts = list(dict.fromkeys(h for n in networks for h in scan_hosts(n)))
    if len(hosts) * len(ports) > MAX_SCAN_PROBES:
        raise InvalidRequest(
            f"{len(hosts)} addresses x {len(ports)} ports exceeds {MAX_SCAN_PROBES} probes",
            field="ports",
        )
    return [(host, port) for host in hosts for port in ports]
