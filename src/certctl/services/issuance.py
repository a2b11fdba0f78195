"""Issuance through the issuer seam: check the CSR against the profile, call the issuer's
connector, store the new version. Every issuer type goes through here."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from certctl.connectors.issuers.base import IssuedChain, IssuerConnector, IssueRequest, OrderJournal
from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller, Permission
from certctl.domain.certificates import CertificateVersion, ManagedCertificate
from certctl.domain.inventory import Issuer, IssuerType
from certctl.domain.pki import StoredCA
from certctl.domain.policies import CertificateProfile
from certctl.errors import InvalidRequest
from certctl.metrics import Metrics
from certctl.pki.csr import check_csr, parse_csr
from certctl.pki.facts import read_pem
from certctl.pki.issuance import DEFAULT_TTL
from certctl.services.issuers import IssuerConnectors
from certctl.services.pki import config_days
from certctl.services.runtime import Runtime
from certctl.services.version_writer import IssuedVersion, VersionWriter, check_issuable

INLINE_CSR_CHARS = 16 * 1024
"""CSRs up to this size are checked on the event loop; an RSA-4096 CSR with a hundred
names is about 6 KiB of PEM."""


class _NoJournal:
    """A one-shot issuance (an operator's CSR) has no job to record progress on."""

    async def save(self, state: Mapping[str, Any]) -> None:
        """Nothing to keep."""


@dataclass(frozen=True)
class IssuanceInputs:
    """What issuance reads before calling the CA, read by a caller in its own transaction."""

    cert: ManagedCertificate
    issuer: Issuer | None
    profile: CertificateProfile
    replaces_pem: str | None
    stored_ca: StoredCA | None = None


async def read_inputs(
    uow: UnitOfWork, cert: ManagedCertificate, issuer: Issuer | None, profile: CertificateProfile
) -> IssuanceInputs:
    """The inputs of an issuance whose certificate, issuer and profile are already read; a
    local CA's row too (checked for a rotated key), so signing needs no transaction of its
    own. The chain a renewal replaces is read for ACME only, the one kind that sends it
    (`replaces`, RFC 9773 section 5)."""
    kind = IssuerType(issuer.type) if issuer is not None else None
    stored = (
        await uow.pki.get_ca(issuer.id)
        if kind is IssuerType.GENERIC_CA and issuer is not None
        else None
    )
    replaces = await uow.versions.newest_chain(cert.id) if kind is IssuerType.ACME else None
    return IssuanceInputs(cert, issuer, profile, replaces, stored_ca=stored)


class IssuanceService:
    """Issue a certificate version from a CSR through the certificate's issuer."""

    def __init__(
        self, runtime: Runtime, connectors: IssuerConnectors, *, metrics: Metrics | None = None
    ) -> None:
        self.runtime = runtime
        self.connectors = connectors
        self.writer = VersionWriter(runtime, metrics=metrics)

    async def issue_from_csr(
        self,
        caller: Caller,
        cert_id: str,
        csr_pem: str,
        *,
        ttl_seconds: int | None = None,
        journal: OrderJournal | None = None,
        resume: Mapping[str, Any] | None = None,
        inputs: IssuanceInputs | None = None,
    ) -> tuple[ManagedCertificate, CertificateVersion]:
        """Check a CSR against the profile, have the issuer sign it, store the version."""
        issuer, connector, request = await self.prepare(
            caller, cert_id, csr_pem, ttl_seconds=ttl_seconds, resume=resume, inputs=inputs
        )
        issued = await connector.issue(request, journal or _NoJournal())
        return await self._store(caller, cert_id, issuer, csr_pem, issued)

    async def prepare(
        self,
        caller: Caller,
        cert_id: str,
        csr_pem: str,
        *,
        ttl_seconds: int | None = None,
        resume: Mapping[str, Any] | None = None,
        inputs: IssuanceInputs | None = None,
    ) -> tuple[Issuer, IssuerConnector, IssueRequest]:
        """Everything short of calling the CA: the certificate is issuable, its issuer usable
        and its connector configured, the CSR obeys the profile (422 names the broken rule).

        `inputs` read by the caller in its own transaction spare reading them again."""
        caller.principal.require(Permission.WRITE)
        if inputs is None:
            async with self.runtime.db.uow() as uow:
                cert = await uow.certificates.require(cert_id)
                check_issuable(cert)
                found = await uow.issuers.get(cert.issuer_id or "")
                inputs = await read_inputs(
                    uow, cert, _usable(found), await certificate_profile(uow, cert)
                )
        cert, profile, replaces = inputs.cert, inputs.profile, inputs.replaces_pem
        check_issuable(cert)
        issuer = _usable(inputs.issuer)
        connector = await self.connectors.for_issuer(issuer, stored_ca=inputs.stored_ca)
        default_ttl = timedelta(
            days=config_days(issuer.config, "default_ttl_days", DEFAULT_TTL.days)
        )
        requested = ttl_seconds if ttl_seconds is not None else _default_ttl(profile, default_ttl)

        declared = (cert.common_name, *cert.sans)

        def check() -> Any:
            facts = parse_csr(csr_pem)
            check_csr(facts, profile, requested_ttl_seconds=requested, declared_names=declared)
            return facts

        # A CSR of ordinary size parses and checks in about 0.1 ms: cheaper on the event loop
        # than the hand-off to a thread. A large one (many names) goes to a thread.
        facts = check() if len(csr_pem) <= INLINE_CSR_CHARS else await asyncio.to_thread(check)
        request = IssueRequest(
            certificate_id=cert_id,
            csr_pem=csr_pem,
            common_name=facts.common_name,
            names=tuple(facts.dns_names),
            profile=profile,
            ttl_seconds=requested,
            replaces_pem=replaces,
            resume=dict(resume or {}),
            csr_facts=facts,
        )
        return issuer, connector, request

    async def _store(
        self, caller: Caller, cert_id: str, issuer: Issuer, csr_pem: str, issued: IssuedChain
    ) -> tuple[ManagedCertificate, CertificateVersion]:
        """Record the new version and make it the certificate's current one, in the write
        transaction it shares with the issuances that finish alongside it."""
        leaf = issued.leaf or (await asyncio.to_thread(read_pem, issued.chain_pem))[0]
        now = self.runtime.clock.now()
        return await self.writer.store(
            IssuedVersion(caller, cert_id, issuer, csr_pem, issued.chain_pem, leaf, now)
        )


def _usable(issuer: Issuer | None) -> Issuer:
    """The certificate's issuer, which must exist and be enabled (422 otherwise)."""
    if issuer is None:
        raise InvalidRequest("the certificate has no issuer", field="issuer_id")
    if not issuer.enabled:
        raise InvalidRequest(f"issuer {issuer.id!r} is disabled", field="issuer_id")
    return issuer


async def certificate_profile(uow: UnitOfWork, cert: ManagedCertificate) -> CertificateProfile:
    """The profile issuance checks against: the certificate's, its policy's, or the default."""
    if cert.certificate_profile_id:
        return await uow.profiles.require(cert.certificate_profile_id)
    if cert.renewal_policy_id:
        policy = await uow.policies.get(cert.renewal_policy_id)
        if policy is not None and policy.certificate_profile_id:
            return await uow.profiles.require(policy.certificate_profile_id)
    return default_profile(cert)


def default_profile(cert: ManagedCertificate) -> CertificateProfile:
    """The profile of a certificate that names none, directly or through its policy."""
    return CertificateProfile(
        id="default", name="default", created_at=cert.created_at, updated_at=cert.created_at
    )


def _default_ttl(profile: CertificateProfile, issuer_default: timedelta) -> int:
    default = int(issuer_default.total_seconds())
    return min(default, profile.max_ttl_seconds) if profile.max_ttl_seconds else default
