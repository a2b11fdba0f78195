"""The local CA (GenericCA) as an issuer connector: signs in a worker thread, revokes locally.

The CA itself (persisted key, CRL numbers, OCSP responder) is kept by the PKI service; this
connector is handed the loaded CA and the URLs its leaves point at.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from certctl.clock import Clock
from certctl.connectors.issuers.base import (
    ConnectionCheck,
    IssuedChain,
    IssueRequest,
    OrderJournal,
    RenewalWindow,
)
from certctl.domain.revocation import RevocationReason
from certctl.pki.ca import LocalCA
from certctl.pki.facts import certificate_facts
from certctl.pki.issuance import issue_leaf


@dataclass(frozen=True)
class LeafURLs:
    """Where relying parties find the CA's CRL, OCSP responder and certificate (RFC 5280)."""

    crl_url: str | None = None
    ocsp_url: str | None = None
    ca_issuers_url: str | None = None


class LocalCAIssuer:
    """Issues from certctl's own CA."""

    kind = "GenericCA"

    def __init__(
        self, ca: LocalCA, *, clock: Clock, default_ttl: timedelta, urls: LeafURLs
    ) -> None:
        self.ca = ca
        self.clock = clock
        self.default_ttl = default_ttl
        self.urls = urls

    async def issue(self, request: IssueRequest, journal: OrderJournal) -> IssuedChain:
        """Sign the leaf and read its facts off the event loop, in one hand-off; the chain
        is the leaf then the CA chain."""
        return await asyncio.to_thread(self._sign, request)

    def _sign(self, request: IssueRequest) -> IssuedChain:
        issued = issue_leaf(
            self.ca,
            request.csr_facts or request.csr_pem,
            profile=request.profile,
            now=self.clock.now(),
            ttl_seconds=request.ttl_seconds,
            issuer_default_ttl=self.default_ttl,
            crl_url=self.urls.crl_url,
            ocsp_url=self.urls.ocsp_url,
            ca_issuers_url=self.urls.ca_issuers_url,
        )
        return IssuedChain(issued.full_chain_pem, certificate_facts(issued.certificate))

    async def revoke(
        self, *, certificate_pem: str, serial_hex: str, reason: RevocationReason
    ) -> None:
        """Nothing to send: the local CA publishes revocations on its own CRL and OCSP."""

    async def ca_chain(self) -> str:
        """The CA certificate and its parents, CA first."""
        return self.ca.chain_pem

    async def test_connection(self) -> ConnectionCheck:
        """The CA is in this process: report its subject and how long it stays valid."""
        cert = self.ca.certificate
        left = cert.not_valid_after_utc - self.clock.now()
        if left <= timedelta(0):
            return ConnectionCheck(
                False, f"the CA certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}"
            )
        return ConnectionCheck(
            True,
            f"local CA {cert.subject.rfc4514_string()} valid until "
            f"{cert.not_valid_after_utc:%Y-%m-%d} ({left.days} days)",
        )

    async def renewal_window(self, certificate_pem: str) -> RenewalWindow | None:
        """The local CA suggests no window: the renewal policy decides."""
        return None
