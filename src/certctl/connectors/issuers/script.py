"""The script issuer (OpenSSL type): any CA with a command line, through one argv command.

The command receives the CSR (PEM) on standard input and the request's facts as environment
variables, and prints the PEM chain (leaf first) on standard output. It runs without a shell
and with a timeout; its exit status and standard error become the job's error.
"""

from __future__ import annotations

import asyncio
import os
import shutil

from pydantic import BaseModel, ConfigDict, Field

from certctl.connectors.issuers.base import (
    ConnectionCheck,
    IssuanceRefused,
    IssuedChain,
    IssueRequest,
    OrderJournal,
    RenewalWindow,
)
from certctl.domain.revocation import RevocationReason
from certctl.errors import ConnectorError

KIND = "OpenSSL"
MAX_ERROR = 2000


class ScriptConfig(BaseModel):
    """A script issuer's configuration."""

    model_config = ConfigDict(extra="forbid")

    script_path: str = Field(min_length=1, description="Program that signs a CSR (no shell).")
    args: list[str] = Field(default_factory=list, description="Arguments after the program.")
    timeout_seconds: int = Field(default=60, ge=1, le=3600)
    revoke_script_path: str | None = Field(
        default=None, description="Program told of revocations: serial and reason as arguments."
    )
    ca_chain_pem: str | None = Field(default=None, description="The CA chain to publish (PEM).")


class ScriptIssuer:
    """Issues by running the configured command."""

    kind = KIND

    def __init__(self, config: ScriptConfig) -> None:
        self.config = config

    async def issue(self, request: IssueRequest, journal: OrderJournal) -> IssuedChain:
        """Run the command with the CSR on stdin; its stdout must hold the PEM chain."""
        env = {
            "CERTCTL_CERTIFICATE_ID": request.certificate_id,
            "CERTCTL_COMMON_NAME": request.common_name,
            "CERTCTL_SANS": ",".join(request.names),
            "CERTCTL_TTL_SECONDS": str(request.ttl_seconds),
            "CERTCTL_TTL_DAYS": str(max(1, request.ttl_seconds // 86400)),
            "CERTCTL_PROFILE": request.profile.name,
            "CERTCTL_EKUS": ",".join(request.profile.allowed_ekus),
        }
        argv = [self.config.script_path, *self.config.args]
        stdout = await self._run(argv, env, request.csr_pem.encode())
        chain = stdout.decode(errors="replace")
        if "-----BEGIN CERTIFICATE-----" not in chain:
            raise IssuanceRefused("the signing script printed no PEM certificate", connector=KIND)
        return IssuedChain(chain[chain.index("-----BEGIN CERTIFICATE-----") :])

    async def _run(self, argv: list[str], env: dict[str, str], stdin: bytes) -> bytes:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env={**os.environ, **env},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise IssuanceRefused(
                f"the signing script cannot start: {exc}", connector=KIND
            ) from exc
        try:
            stdout, stderr = await asyncio.wait_for(
                proc.communicate(stdin), self.config.timeout_seconds
            )
        except TimeoutError:
            proc.kill()
            await proc.wait()
            # A slow CA may answer next time: retried like any outage.
            raise ConnectorError(
                f"the signing script did not finish within {self.config.timeout_seconds} s",
                connector=KIND,
            ) from None
        if proc.returncode != 0:
            text = stderr.decode(errors="replace").strip()[:MAX_ERROR] or "no output"
            raise IssuanceRefused(
                f"the signing script exited with status {proc.returncode}: {text}", connector=KIND
            )
        return stdout

    async def revoke(
        self, *, certificate_pem: str, serial_hex: str, reason: RevocationReason
    ) -> None:
        """Run the revoke program with the serial and reason (the PEM on stdin), if one is set."""
        if self.config.revoke_script_path is None:
            return
        argv = [self.config.revoke_script_path, serial_hex, reason.value]
        await self._run(
            argv, {"CERTCTL_REVOCATION_CODE": str(reason.code)}, certificate_pem.encode()
        )

    async def ca_chain(self) -> str:
        """The configured CA chain."""
        if not self.config.ca_chain_pem:
            raise IssuanceRefused("no ca_chain_pem is configured for this issuer", connector=KIND)
        return self.config.ca_chain_pem

    async def test_connection(self) -> ConnectionCheck:
        """The program must exist and be executable by the server."""
        path = shutil.which(self.config.script_path)
        if path is None:
            return ConnectionCheck(
                False, f"{self.config.script_path} does not exist or is not executable"
            )
        return ConnectionCheck(True, f"signing script {path} is executable")

    async def renewal_window(self, certificate_pem: str) -> RenewalWindow | None:
        """A script suggests no window."""
        return None
