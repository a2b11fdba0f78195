"""MCP tools of discovery and drift (C8): list, summary, claim, dismiss, network scan, drift."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from mcp_types import ToolAnnotations
from pydantic import Field

from certctl.client import CertctlClient

DiscoveryId = Annotated[str, Field(min_length=1, description="Discovery id, e.g. disc-01j….")]
Optional = Annotated[str | None, Field(description="Optional; omit for any.")]
Answer = Callable[[Any], Any]


class DiscoveryTools:
    """Triage of discovered certificates; each docstring is what the model reads."""

    def __init__(self, client: CertctlClient, answer: Answer) -> None:
        self.client = client
        self.answer = answer

    async def list_discoveries(
        self,
        status: Annotated[str | None, Field(description="Unmanaged, Claimed or Dismissed.")] = None,
        source: Annotated[str | None, Field(description="filesystem or network.")] = None,
        agent_id: Optional = None,
        scan_id: Optional = None,
        q: Annotated[
            str | None, Field(description="Substring of CN, place or fingerprint.")
        ] = None,
        page: Annotated[int, Field(ge=1)] = 1,
        per_page: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> str:
        """List certificates found on hosts (agents) and endpoints (network scans)."""
        call = self.client.list_discoveries(
            status=status,
            source=source,
            agent_id=agent_id,
            scan_id=scan_id,
            q=q,
            page=page,
            per_page=per_page,
        )
        return str(await self.answer(call))

    async def discovery_summary(self) -> str:
        """Discovery counts by status, agent and scan; unmanaged ones expiring within 30 days."""
        return str(await self.answer(self.client.discovery_summary()))

    async def claim_discovery(
        self,
        discovery_id: DiscoveryId,
        name: Optional = None,
        owner_id: Optional = None,
        team_id: Optional = None,
        renewal_policy_id: Optional = None,
        environment: Optional = None,
    ) -> str:
        """Bring a discovered certificate under management (a new Active certificate)."""
        fields = {
            "name": name,
            "owner_id": owner_id,
            "team_id": team_id,
            "renewal_policy_id": renewal_policy_id,
            "environment": environment,
        }
        return str(await self.answer(self.client.claim_discovery(discovery_id, fields)))

    async def dismiss_discovery(
        self,
        discovery_id: DiscoveryId,
        reason: Annotated[str, Field(min_length=1, description="Why it is not to be managed.")],
    ) -> str:
        """Mark a discovered certificate as not to be managed, with the reason."""
        return str(await self.answer(self.client.dismiss_discovery(discovery_id, reason=reason)))

    async def scan_network(
        self,
        cidrs: Annotated[
            list[str], Field(min_length=1, description="CIDRs or addresses, at most a /20 each.")
        ],
        ports: Annotated[list[int], Field(min_length=1, description="Ports, e.g. [443].")],
        server_name: Annotated[str | None, Field(description="SNI name to send.")] = None,
    ) -> str:
        """Request a network scan for TLS endpoints; answers the scan (poll its status)."""
        call = self.client.start_discovery_scan(cidrs, ports, server_name=server_name)
        return str(await self.answer(call))

    async def list_drift(self) -> str:
        """Endpoints serving an older version (stale) or another certificate (foreign)."""
        return str(await self.answer(self.client.list_drift()))


def discovery_tools(
    client: CertctlClient, answer: Answer, read: ToolAnnotations, write: ToolAnnotations
) -> Sequence[tuple[Callable[..., Any], ToolAnnotations]]:
    """The tools and their hints, for `build_server` to register."""
    tools = DiscoveryTools(client, answer)
    # A scan connects to the addresses it is given: outward-looking.
    scan = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
    return (
        (tools.list_discoveries, read),
        (tools.discovery_summary, read),
        (tools.claim_discovery, write),
        (tools.dismiss_discovery, write),
        (tools.scan_network, scan),
        (tools.list_drift, read),
    )
