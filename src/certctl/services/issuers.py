"""Issuer connectors bound to configured issuers, and the "test connection" use case (C5)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import structlog

from certctl.connectors.issuers.acme import AcmeConfig, AcmeIssuer
from certctl.connectors.issuers.base import ConnectionCheck, IssuerConnector
from certctl.connectors.issuers.local_ca import LeafURLs, LocalCAIssuer
from certctl.connectors.issuers.registry import validate_issuer_config
from certctl.connectors.issuers.script import ScriptConfig, ScriptIssuer
from certctl.connectors.issuers.stepca import StepCAConfig, StepCAIssuer
from certctl.connectors.issuers.vault import VaultConfig, VaultIssuer
from certctl.db.repositories.revocation_notices import RevocationNotice
from certctl.db.uow import UnitOfWork
from certctl.domain.access import SYSTEM_CALLER, Caller, Permission
from certctl.domain.inventory import Issuer, IssuerType
from certctl.domain.pki import StoredCA
from certctl.domain.revocation import parse_reason
from certctl.errors import CertctlError, InvalidRequest
from certctl.pki.issuance import DEFAULT_TTL
from certctl.services.acme import SealedAccounts, StoredAnswers
from certctl.services.audit import record
from certctl.services.pki import PkiService, config_days
from certctl.services.runtime import Runtime
from certctl.services.secrets import reveal_config

log = structlog.get_logger("certctl.issuers")


class IssuerConnectors:
    """Builds the connector of a configured issuer; `pinned` fixes one per issuer id."""

    def __init__(
        self,
        runtime: Runtime,
        pki: PkiService,
        *,
        allow_private: bool,
        timeout: float = 30.0,
        pinned: Mapping[str, IssuerConnector] | None = None,
    ) -> None:
        self.runtime = runtime
        self.pki = pki
        self.allow_private = allow_private
        self.timeout = timeout
        self.pinned = dict(pinned or {})

    async def for_issuer(
        self, issuer: Issuer, *, stored_ca: StoredCA | None = None
    ) -> IssuerConnector:
        """The connector for `issuer`, bound to its validated config (secrets revealed); a
        local CA's row read by the caller spares reading it again."""
        if issuer.id in self.pinned:
            return self.pinned[issuer.id]
        kind = IssuerType(issuer.type)  # a value being created may still hold the plain string
        if kind is IssuerType.GENERIC_CA:
            return await self._local(issuer, stored_ca)
        config = reveal_config(issuer.config, issuer.sealed_secrets, self.runtime.sealer)
        validated = validate_issuer_config(kind, config)
        if isinstance(validated, AcmeConfig):
            return AcmeIssuer(
                validated,
                accounts=SealedAccounts(self.runtime, issuer.id),
                answers=StoredAnswers(self.runtime, issuer.id),
                allow_private=self.allow_private,
                timeout=self.timeout,
            )
        if isinstance(validated, ScriptConfig):
            return ScriptIssuer(validated)
        if isinstance(validated, StepCAConfig):
            return StepCAIssuer(validated, allow_private=self.allow_private, timeout=self.timeout)
        if isinstance(validated, VaultConfig):
            return VaultIssuer(validated, allow_private=self.allow_private, timeout=self.timeout)
        raise InvalidRequest(
            f"issuer type {kind.value} has no issuing connector in this version",
            field="issuer_id",
        )

    async def _local(self, issuer: Issuer, stored: StoredCA | None) -> LocalCAIssuer:
        ca = self.pki.load(stored) if stored is not None else await self.pki.load_ca(issuer.id)
        days = config_days(issuer.config, "default_ttl_days", DEFAULT_TTL.days)
        return LocalCAIssuer(
            ca,
            clock=self.runtime.clock,
            default_ttl=timedelta(days=days),
            urls=LeafURLs(**self.pki.leaf_urls(issuer.id)),
        )


class IssuerTests:
    """`POST /issuers/{id}/test`: reach the CA with the stored config and record the outcome."""

    def __init__(self, runtime: Runtime, connectors: IssuerConnectors) -> None:
        self.runtime = runtime
        self.connectors = connectors

    async def test(self, caller: Caller, issuer_id: str) -> tuple[Issuer, ConnectionCheck]:
        """Run the connection test; the issuer's test status and time are updated, audited."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            issuer = await uow.issuers.require(issuer_id)
        try:
            connector = await self.connectors.for_issuer(issuer)
            check = await connector.test_connection()
        except CertctlError as exc:
            check = ConnectionCheck(False, exc.detail)
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            current = await uow.issuers.require(issuer_id)
            after = dataclasses.replace(
                current,
                test_status="passed" if check.ok else "failed",
                last_tested_at=now,
                updated_at=now,
            )
            await uow.issuers.update(after)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="issuer_tested",
                resource_type="issuer",
                resource_id=issuer_id,
                details={"ok": check.ok, "detail": check.detail},
            )
        return after, check


class IssuerRevocations:
    """Tells remote CAs about revocations: right after each one, then from the crl loop until
    the CA acknowledges (the revocation's `issuer_notified`)."""

    def __init__(self, runtime: Runtime, connectors: IssuerConnectors) -> None:
        self.runtime = runtime
        self.connectors = connectors

    async def notify(self, revocation_ids: Sequence[str] | None = None) -> dict[str, Any]:
        """Send pending revocations (all, or the given ones) to their issuers."""
        async with self.runtime.db.uow() as uow:
            notices = await uow.revocation_notices.pending(revocation_ids=revocation_ids)
        sent = 0
        failed: list[str] = []
        for notice in notices:
            try:
                await self._send(notice)
            except CertctlError as exc:
                log.warning(
                    "issuer.revocation_not_sent",
                    revocation_id=notice.revocation_id,
                    issuer_id=notice.issuer_id,
                    error=exc.detail,
                )
                failed.append(notice.revocation_id)
                continue
            sent += 1
        return {"sent": sent, "failed": failed}

    async def _send(self, notice: RevocationNotice) -> None:
        async with self.runtime.db.uow() as uow:
            issuer = await uow.issuers.require(notice.issuer_id)
        connector = await self.connectors.for_issuer(issuer)
        await connector.revoke(
            certificate_pem=notice.pem_chain,
            serial_hex=notice.serial_number,
            reason=parse_reason(notice.reason),
        )
        async with self.runtime.db.uow() as uow:
            await uow.revocation_notices.mark_sent(notice.revocation_id)
            await record(
                uow,
                self.runtime,
                caller=SYSTEM_CALLER,
                action="issuer_notified_of_revocation",
                resource_type="issuer",
                resource_id=notice.issuer_id,
                details={"serial_number": notice.serial_number, "reason": notice.reason},
            )


class IssuerReach:
    """Fail early: an enabled issuer must be reachable with its config when it is saved."""

    def __init__(self, connectors: IssuerConnectors) -> None:
        self.connectors = connectors

    async def __call__(self, runtime: Runtime, uow: UnitOfWork, caller: Caller, obj: Any) -> None:
        """Raise InvalidRequest naming the cause when the CA cannot be reached.

        A disabled issuer is only validated: it may point at a CA not yet available.
        The local CA was just made in this transaction, so it is always reachable.
        """
        issuer: Issuer = obj
        if not issuer.enabled or IssuerType(issuer.type) is IssuerType.GENERIC_CA:
            return
        check = await (await self.connectors.for_issuer(issuer)).test_connection()
        if not check.ok:
            raise InvalidRequest(f"the issuer's CA cannot be used: {check.detail}", field="config")
