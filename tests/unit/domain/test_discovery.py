"""Discovery rules: scan target limits, ports, triage and the summary."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.discovery import (
    DiscoveredCertificate,
    DiscoverySource,
    DiscoveryStatus,
    check_dismiss_reason,
    check_ports,
    check_triage,
    parse_scan_targets,
    plan_probes,
    scan_hosts,
    summarize,
)
from certctl.errors import Conflict, InvalidRequest

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _found(
    status: DiscoveryStatus = DiscoveryStatus.UNMANAGED,
    *,
    days: int = 90,
    agent_id: str | None = None,
    scan_id: str | None = None,
) -> DiscoveredCertificate:
    return DiscoveredCertificate(
        id="disc-1",
        source=DiscoverySource.FILESYSTEM,
        location="/etc/ssl/a.pem",
        fingerprint_sha256="ab" * 32,
        common_name="a.test",
        sans=("a.test",),
        subject_dn="CN=a.test",
        issuer_dn="CN=Root",
        serial_number="7",
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=days),
        key_algorithm="ECDSA",
        key_size=256,
        is_ca=False,
        format="PEM",
        pem="",
        status=status,
        first_seen_at=NOW,
        last_seen_at=NOW,
        agent_id=agent_id,
        scan_id=scan_id,
    )


@pytest.mark.parametrize(
    ("cidr", "count"),
    [("10.0.0.0/20", 4096), ("192.0.2.7", 1), ("2001:db8::/116", 4096), ("10.0.0.5/24", 256)],
)
def test_a_target_up_to_4096_addresses_is_accepted(cidr: str, count: int) -> None:
    """A /20, a single address, an IPv6 /116 and a host-bits CIDR all parse."""
    (network,) = parse_scan_targets([cidr])
    assert network.num_addresses == count


@pytest.mark.parametrize(("cidr", "limit"), [("10.0.0.0/19", "/20"), ("2001:db8::/115", "/116")])
def test_a_target_over_4096_addresses_is_refused_naming_the_entry(cidr: str, limit: str) -> None:
    """A /19 (or the IPv6 equivalent) is refused with the field and the allowed prefix."""
    with pytest.raises(InvalidRequest) as refused:
        parse_scan_targets(["127.0.0.1", cidr])
    assert refused.value.field == "cidrs[1]"
    assert f"at most a {limit} (4096 addresses)" in refused.value.detail


def test_a_malformed_cidr_is_refused() -> None:
    """Text that is not a network names its position."""
    with pytest.raises(InvalidRequest) as refused:
        parse_scan_targets(["10.0.0.0/33"])
    assert refused.value.field == "cidrs[0]"


@pytest.mark.parametrize(
    ("cidrs", "detail"), [([], "at least one"), (["10.0.0.1"] * 17, "at most 16")]
)
def test_the_number_of_targets_is_bounded(cidrs: list[str], detail: str) -> None:
    """No target, or more than 16, is refused on `cidrs`."""
    with pytest.raises(InvalidRequest) as refused:
        parse_scan_targets(cidrs)
    assert refused.value.field == "cidrs"
    assert detail in refused.value.detail


def test_ports_keep_their_order_without_duplicates() -> None:
    """Duplicate ports are dropped, the first occurrence kept."""
    assert check_ports([443, 8443, 443]) == (443, 8443)


@pytest.mark.parametrize(
    ("ports", "detail"),
    [([], "at least one port"), ([0], "port 0 is outside"), ([65536], "port 65536"),
     (list(range(1, 34)), "at most 32 ports")],
)  # fmt: skip
def test_bad_ports_are_refused(ports: list[int], detail: str) -> None:
    """No port, a port outside 1-65535 or more than 32 ports is a 400 on `ports`."""
    with pytest.raises(InvalidRequest) as refused:
        check_ports(ports)
    assert refused.value.field == "ports"
    assert detail in refused.value.detail


def test_scan_hosts_of_a_network_skip_network_and_broadcast() -> None:
    """A /30 probes its two usable hosts; a single address probes itself."""
    assert scan_hosts(ipaddress.ip_network("10.0.0.0/30")) == ["10.0.0.1", "10.0.0.2"]
    assert scan_hosts(ipaddress.ip_network("10.0.0.9/32")) == ["10.0.0.9"]


def test_plan_probes_pairs_every_host_with_every_port_once() -> None:
    """Overlapping targets are probed once per (address, port)."""
    nets = parse_scan_targets(["127.0.0.1", "127.0.0.1/32"])
    assert plan_probes(nets, (443, 8443)) == [("127.0.0.1", 443), ("127.0.0.1", 8443)]


def test_plan_probes_refuses_more_than_65536_connections() -> None:
    """Sixteen /20s on two ports is too many probes."""
    nets = parse_scan_targets([f"10.{i}.0.0/20" for i in range(16)])
    with pytest.raises(InvalidRequest) as refused:
        plan_probes(nets, (443, 8443))
    assert refused.value.field == "ports"


def test_only_an_unmanaged_discovery_can_be_triaged() -> None:
    """Claiming or dismissing twice is a Conflict."""
    check_triage(_found())
    with pytest.raises(Conflict):
        check_triage(_found(DiscoveryStatus.CLAIMED))


@pytest.mark.parametrize(
    ("reason", "ok"), [("  test box ", "test box"), ("", None), ("x" * 1001, None)]
)
def test_a_dismissal_needs_a_short_reason(reason: str, ok: str | None) -> None:
    """The reason is trimmed, required and at most 1000 characters."""
    if ok is None:
        with pytest.raises(InvalidRequest) as refused:
            check_dismiss_reason(reason)
        assert refused.value.field == "reason"
    else:
        assert check_dismiss_reason(reason) == ok


def test_summary_counts_status_expiry_agents_and_scans() -> None:
    """Expiring and expired count unmanaged discoveries only; agents and scans are tallied."""
    found = [
        _found(days=10, agent_id="ag-1"),
        _found(days=-1, agent_id="ag-1"),
        _found(days=90, scan_id="scan-1"),
        _found(DiscoveryStatus.CLAIMED, days=5, scan_id="scan-1"),
        _found(DiscoveryStatus.DISMISSED, days=5),
    ]
    summary = summarize(found, NOW)
    assert summary.total == 5
    assert summary.by_status == {"Unmanaged": 3, "Claimed": 1, "Dismissed": 1}
    assert (summary.expiring_within_30_days, summary.expired) == (1, 1)
    assert summary.by_agent == {"ag-1": 2}
    assert summary.by_scan == {"scan-1": 2}
