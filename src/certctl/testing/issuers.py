"""Typed fakes of the issuer seam: a CA that answers from a script and records every call.

`ScriptedIssuer` implements `IssuerConnector` exactly (mypy checks it), so a test pins it to an
issuer id through `IssuerConnectors(pinned=...)` instead of patching a service or faking the
CA by duck typing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from certctl.connectors.issuers.base import (
    ConnectionCheck,
    IssuedChain,
    IssuerConnector,
    IssueRequest,
    OrderJournal,
    RenewalWindow,
)
from certctl.domain.revocation import RevocationReason

Outcome = Callable[[IssueRequest], IssuedChain]


@dataclass(frozen=True)
class Revoked:
    """One revoke call the fake received."""

    serial_hex: str
    reason: RevocationReason


@dataclass
class ScriptedIssuer:
    """An issuer whose answers are given by the test: an exception to raise, or a signer."""

    kind: str = "Scripted"
    sign: Outcome | None = None
    failure: Exception | None = None
    journal_states: list[Mapping[str, Any]] = field(default_factory=list)
    check: ConnectionCheck = field(
        default_factory=lambda: ConnectionCheck(True, "scripted CA reachable")
    )
    window: RenewalWindow | None = None
    chain: str = ""
    requests: list[IssueRequest] = field(default_factory=list)
    revoked: list[Revoked] = field(default_factory=list)

    async def issue(self, request: IssueRequest, journal: OrderJournal) -> IssuedChain:
        """Record the request, save any scripted journal states, then fail or sign."""
        self.requests.append(request)
        for state in self.journal_states:
            await journal.save(state)
        if self.failure is not None:
            raise self.failure
        if self.sign is None:
            raise AssertionError("ScriptedIssuer has neither a failure nor a signer")
        return self.sign(request)

    async def revoke(
        self, *, certificate_pem: str, serial_hex: str, reason: RevocationReason
    ) -> None:
        """Record the revocation."""
        self.revoked.append(Revoked(serial_hex, reason))

    async def ca_chain(self) -> str:
        """The scripted chain."""
        return self.chain

    async def test_connection(self) -> ConnectionCheck:
        """The scripted check."""
        return self.check

    async def renewal_window(self, certificate_pem: str) -> RenewalWindow | None:
        """The scripted window."""
        return self.window


def _conforms(issuer: ScriptedIssuer) -> IssuerConnector:
    # mypy proves here that ScriptedIssuer satisfies the seam's protocol.
    return issuer
