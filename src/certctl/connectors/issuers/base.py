"""The issuer seam (C5): what every certificate authority connector does, in certctl's terms.

Jobs, renewal and revocation call only `IssuerConnector`; the local CA, ACME and the other
kinds are implementations of it. A connector that needs several round trips (an ACME order)
writes its progress to the `OrderJournal` it is handed, and a later attempt that is given the
same state back resumes where the last one stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from certctl.domain.certificates import CertificateFacts
from certctl.domain.policies import CertificateProfile
from certctl.domain.revocation import RevocationReason
from certctl.errors import ConnectorError
from certctl.pki.csr import CSRFacts


@dataclass(frozen=True)
class IssueRequest:
    """One certificate to obtain: a checked CSR, the names in it and the profile it obeys."""

    certificate_id: str
    csr_pem: str
    common_name: str
    names: tuple[str, ...]
    profile: CertificateProfile
    ttl_seconds: int
    replaces_pem: str | None = None
    """The certificate this one renews (ACME ARI `replaces`, RFC 9773 section 5)."""
    resume: Mapping[str, Any] = field(default_factory=dict)
    """What a previous attempt saved through its journal; empty for a fresh start."""
    csr_facts: CSRFacts | None = None
    """The CSR already parsed and checked by the caller (spares a second signature check)."""


@dataclass(frozen=True)
class IssuedChain:
    """What the CA returned: the leaf first, then the intermediates, in PEM."""

    chain_pem: str
    leaf: CertificateFacts | None = None
    """The leaf's facts when the connector read them already (the local CA, in the thread
    that signed it); otherwise the chain is read when stored."""


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of reaching the CA with the issuer's configuration."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class RenewalWindow:
    """When the CA suggests renewing a certificate (ARI, RFC 9773 section 4.2)."""

    start: datetime
    end: datetime
    retry_after: str | None = None
    """The answer's Retry-After header as sent (seconds or an HTTP date, RFC 9110 10.2.3)."""
    explanation_url: str | None = None


class OrderJournal(Protocol):
    """Where a connector records the progress of a long-running order (stored on the job)."""

    async def save(self, state: Mapping[str, Any]) -> None:
        """Persist `state` so that a later attempt receives it as `IssueRequest.resume`."""
        ...


class IssuerConnector(Protocol):
    """One configured certificate authority."""

    kind: str

    async def issue(self, request: IssueRequest, journal: OrderJournal) -> IssuedChain:
        """Obtain a certificate for the CSR; raise IssuanceRefused when the CA says no."""
        ...

    async def revoke(
        self, *, certificate_pem: str, serial_hex: str, reason: RevocationReason
    ) -> None:
        """Tell the CA that the certificate is revoked, with its RFC 5280 reason."""
        ...

    async def ca_chain(self) -> str:
        """The CA certificates (issuing CA first) in PEM."""
        ...

    async def test_connection(self) -> ConnectionCheck:
        """Reach the CA with this configuration and say what was found or what failed."""
        ...

    async def renewal_window(self, certificate_pem: str) -> RenewalWindow | None:
        """The CA's suggested renewal window for a certificate, or None if it offers none."""
        ...


class IssuanceRefused(ConnectorError):
    """The CA refused the request for good (an invalid authorization, a rejected CSR).

    `problem` is the CA's own problem document when it sent one (RFC 8555 section 6.7):
    it is what the job's error and the renewal-failure alert carry.
    """

    def __init__(
        self, detail: str, *, connector: str, problem: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(detail, connector=connector, permanent=True)
        self.problem = dict(problem or {})
