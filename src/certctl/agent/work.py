"""The agent's two kinds of work: make a key and post its CSR; deploy a certificate.

The private key is generated here and written to the key dir before the CSR is sent; the
server only ever receives the CSR. A deployment reads the key back from the key dir and
hands leaf, chain and key to the deploy library, then reports what the endpoint serves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import structlog

from certctl.agent.keystore import KeyMissing, KeyStore
from certctl.client.agent import AgentClient, CsrWork, DeployWork
from certctl.client.errors import ClientError
from certctl.domain.inventory import TargetType
from certctl.pki.csr import make_csr

log = structlog.get_logger("certctl.agent")


class DeployRefused(Exception):
    """A deployment failed; `reason` says why (rolled back when the library could)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Deployer(Protocol):
    """Put leaf, chain and key on one target; the served leaf's SHA-256 (None unchecked)."""

    def __call__(
        self,
        target_type: TargetType,
        config: Mapping[str, Any],
        *,
        cert_pem: str,
        chain_pem: str,
        key_pem: str,
        backup_dir: Path,
    ) -> Awaitable[str | None]: ...


class WorkRunner:
    """Runs one work item at a time for one registered agent."""

    def __init__(
        self,
        client: AgentClient,
        agent_id: str,
        keys: KeyStore,
        deployer: Deployer,
        *,
        backup_root: Path,
        make_key: Callable[[str, tuple[str, ...], str], tuple[str, str]] = make_csr,
    ) -> None:
        self.client = client
        self.agent_id = agent_id
        self.keys = keys
        self.deployer = deployer
        self.backup_root = backup_root
        self.make_key = make_key

    async def issue(self, item: CsrWork) -> None:
        """Make the key the profile asks for, keep it 0600, post only the CSR."""
        names = tuple(item["sans"]) or (item["common_name"],)
        csr_pem, key_pem = await asyncio.to_thread(
            self.make_key, item["common_name"], names, item["key_spec"]
        )
        self.keys.save(item["certificate_id"], item["job_id"], key_pem)
        try:
            issued = await self.client.submit_agent_csr(
                self.agent_id, job_id=item["job_id"], csr_pem=csr_pem
            )
        except ClientError as exc:
            if exc.status is None or exc.status == 410 or exc.status >= 500:
                raise
            await self._fail(item["job_id"], f"the CSR was refused: {exc.message}")
            return
        if issued.get("queued"):
            # A remote CA's order runs on the server; the key waits here for the deployment.
            log.info("agent.csr_queued", job_id=item["job_id"])
            return
        log.info("agent.issued", job_id=item["job_id"], version_id=issued["version_id"])

    async def deploy(self, item: DeployWork) -> None:
        """Deploy the current version to the target and report the outcome."""
        job_id = item["job_id"]
        cert = await self.client.agent_certificate(self.agent_id, item["certificate_id"])
        try:
            key_pem = self.keys.for_certificate(item["certificate_id"], cert["cert_pem"])
            served = await self.deployer(
                TargetType(item["target_type"]),
                item["target_config"],
                cert_pem=cert["cert_pem"],
                chain_pem=cert["chain_pem"],
                key_pem=key_pem,
                backup_dir=self.backup_root / _safe(item["target_id"]),
            )
        except (KeyMissing, DeployRefused) as exc:
            await self._fail(job_id, str(exc))
            return
        await self.client.report_job(
            self.agent_id, job_id, status="Completed", served_sha256=served
        )
        log.info("agent.deployed", job_id=job_id, target_id=item["target_id"], served=served)

    async def _fail(self, job_id: str, reason: str) -> None:
        log.warning("agent.job_failed", job_id=job_id, reason=reason)
        await self.client.report_job(self.agent_id, job_id, status="Failed", reason=reason)


def _safe(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in value)
