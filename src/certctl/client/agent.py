"""AgentClient: the agent protocol's calls (C7) over the same HTTP client as the CLI's.

The agent registers with the bootstrap token, then authenticates with its own credential.
A retired agent's calls fail with ``ClientError(status=410)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypedDict, cast

from certctl.client.api import CertctlClient, _seg
from certctl.domain.discovery import DiscoveredFile


class HostFacts(TypedDict):
    """What an agent says about its host on registration and every heartbeat."""

    version: str
    hostname: str
    os: str
    arch: str
    addresses: list[str]


class Registration(TypedDict):
    """The agent's id and credential (the server shows the credential once)."""

    agent_id: str
    credential: str
    heartbeat_interval_seconds: int
    poll_interval_seconds: int


class CsrWork(TypedDict):
    """An issuing job waiting for the agent's key and CSR."""

    job_id: str
    certificate_id: str
    common_name: str
    sans: list[str]
    key_spec: str


class DeployWork(TypedDict):
    """A deployment of the certificate's current version onto one target."""

    job_id: str
    certificate_id: str
    version_id: str
    fingerprint_sha256: str
    target_id: str
    target_type: str
    target_config: dict[str, Any]


class Work(TypedDict):
    """The agent's leased work."""

    csr_jobs: list[CsrWork]
    deployments: list[DeployWork]


class Issued(TypedDict):
    """The version issued from the agent's CSR (version fields null when `queued`)."""

    job_id: str
    certificate_id: str
    queued: bool
    version_id: str | None
    serial_number: str | None
    fingerprint_sha256: str | None
    not_after: str | None


class AgentCertificate(TypedDict):
    """A certificate's current leaf and chain (never a key)."""

    certificate_id: str
    version_id: str
    serial_number: str
    fingerprint_sha256: str
    not_after: str
    cert_pem: str
    chain_pem: str


class JobReport(TypedDict):
    """The job after the agent's report."""

    id: str
    type: str
    status: str
    last_error: str | None


class DiscoveryReport(TypedDict):
    """What a discovery report changed on the server."""

    received: int
    new: int
    refreshed: int


def _discovered(item: DiscoveredFile) -> dict[str, Any]:
    """One discovered certificate as the report body carries it."""
    body = dataclasses.asdict(item)
    body.update(
        sans=list(item.sans),
        not_before=item.not_before.isoformat(),
        not_after=item.not_after.isoformat(),
        format=item.format.value,
    )
    return body


class AgentClient(CertctlClient):
    """The certctl API as an agent calls it."""

    def use_credential(self, credential: str) -> None:
        """Authenticate the following calls with this bearer secret."""
        self._http.headers["Authorization"] = f"Bearer {credential}"

    async def register(self, *, name: str, facts: HostFacts, bootstrap_token: str) -> Registration:
        """Register with the bootstrap token; later calls use the returned credential."""
        self.use_credential(bootstrap_token)
        body = {"name": name, **facts}
        answer = cast(Registration, await self._call("POST", "/agents", body=body))
        self.use_credential(answer["credential"])
        return answer

    async def heartbeat(self, agent_id: str, facts: HostFacts) -> dict[str, Any]:
        """Tell the server the agent is alive."""
        path = f"/agents/{_seg(agent_id)}/heartbeat"
        return cast(dict[str, Any], await self._call("POST", path, body=dict(facts)))

    async def work(self, agent_id: str) -> Work:
        """Lease the agent's due work."""
        return cast(Work, await self._call("GET", f"/agents/{_seg(agent_id)}/work"))

    async def submit_agent_csr(self, agent_id: str, *, job_id: str, csr_pem: str) -> Issued:
        """Post the CSR of an AwaitingCSR job."""
        body = {"job_id": job_id, "csr_pem": csr_pem}
        return cast(Issued, await self._call("POST", f"/agents/{_seg(agent_id)}/csr", body=body))

    async def agent_certificate(self, agent_id: str, cert_id: str) -> AgentCertificate:
        """The current leaf and chain of a certificate the agent works on."""
        path = f"/agents/{_seg(agent_id)}/certificates/{_seg(cert_id)}"
        return cast(AgentCertificate, await self._call("GET", path))

    async def report_job(
        self,
        agent_id: str,
        job_id: str,
        *,
        status: str,
        reason: str | None = None,
        served_sha256: str | None = None,
    ) -> JobReport:
        """Report Running, Completed (with the served fingerprint) or Failed (with a reason)."""
        path = f"/agents/{_seg(agent_id)}/jobs/{_seg(job_id)}/status"
        body: dict[str, Any] = {"status": status}
        if reason is not None:
            body["reason"] = reason
        if served_sha256 is not None:
            body["served_sha256"] = served_sha256
        return cast(JobReport, await self._call("POST", path, body=body))

    async def report_discoveries(
        self, agent_id: str, items: Sequence[DiscoveredFile]
    ) -> DiscoveryReport:
        """Post the certificates found on this host (re-reports refresh, never duplicate)."""
        path = f"/agents/{_seg(agent_id)}/discoveries"
        body = {"items": [_discovered(item) for item in items]}
        return cast(DiscoveryReport, await self._call("POST", path, body=body))
