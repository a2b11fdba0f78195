"""ACME Renewal Information checks (RFC 9773): ask the CA for each certificate's window.

The renewal scan calls `refresh` first; it asks only for certificates whose issuer is ACME
and whose last answer's Retry-After has passed. A failed check never blocks renewal: it is
recorded on the certificate (`last_error`) and the policy's renewal window applies.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from certctl.connectors.issuers.base import RenewalWindow
from certctl.domain.certificates import CertificateStatus
from certctl.domain.renewal_info import (
    MAX_RETRY_AFTER,
    RETRY_AFTER_ERROR,
    RenewalInfoState,
    SuggestedWindow,
    choose_renewal_time,
    next_check_at,
)
from certctl.errors import CertctlError, ConnectorError
from certctl.pki.renewal_info import certificate_ari_id
from certctl.services.issuers import IssuerConnectors
from certctl.services.runtime import Runtime

log = structlog.get_logger("certctl.renewal_info")

CHECK_BATCH = 100
"""Most certificates one scan asks about (the rest wait for the next scan)."""
_RANDOM = secrets.SystemRandom()


@dataclass
class RenewalInfoSummary:
    """What one round of checks did."""

    checked: int = 0
    windows: int = 0
    unsupported: int = 0
    failed: int = 0


class RenewalInfoService:
    """Keeps each ACME certificate's suggested renewal window up to date."""

    def __init__(self, runtime: Runtime, connectors: IssuerConnectors) -> None:
        self.runtime = runtime
        self.connectors = connectors

    async def get(self, certificate_id: str) -> RenewalInfoState | None:
        """What is stored for one certificate."""
        async with self.runtime.db.uow() as uow:
            return await uow.renewal_info.get(certificate_id)

    async def refresh(
        self, statuses: Sequence[CertificateStatus], *, limit: int = CHECK_BATCH
    ) -> RenewalInfoSummary:
        """Ask the CA about every certificate due for a check, and store the answers."""
        summary = RenewalInfoSummary()
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            ids = await uow.renewal_info.to_check(now=now, statuses=statuses, limit=limit)
        for cert_id in ids:
            state = await self.check(cert_id)
            summary.checked += 1
            if state is None or state.last_error is not None:
                summary.failed += 1
            elif state.window is None:
                summary.unsupported += 1
            else:
                summary.windows += 1
        return summary

    async def check(self, cert_id: str) -> RenewalInfoState | None:
        """Ask the CA for one certificate's window now; None when it has nothing to ask about."""
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            cert = await uow.certificates.require(cert_id)
            issuer = await uow.issuers.get(cert.issuer_id or "")
            versions = await uow.versions.for_certificate(cert_id)
            previous = await uow.renewal_info.get(cert_id)
        if issuer is None:
            return None
        if not versions:
            # Registered by hand with no certificate to name: looked at again in a day, so
            # it does not hold a place in every scan's batch.
            state = RenewalInfoState(
                cert_id, "", now, now + MAX_RETRY_AFTER, last_error="no issued version to ask about"
            )
            async with self.runtime.db.uow() as uow:
                await uow.renewal_info.save(state)
            return state
        pem = versions[0].pem_chain
        ari_id = ""
        try:
            ari_id = certificate_ari_id(pem)
            connector = await self.connectors.for_issuer(issuer)
            window = await connector.renewal_window(pem)
        except (CertctlError, OSError) as exc:
            detail = exc.detail if isinstance(exc, CertctlError) else f"{type(exc).__name__}: {exc}"
            log.warning("ari.check_failed", certificate_id=cert_id, error=detail)
            state = _failed(cert_id, ari_id, now, detail, exc)
        else:
            if window is None:
                # The directory has no renewalInfo: ask again in a day (an upgrade adds it).
                state = RenewalInfoState(cert_id, ari_id, now, now + MAX_RETRY_AFTER)
            else:
                state = _answered(cert_id, ari_id, previous, now, window)
        async with self.runtime.db.uow() as uow:
            await uow.renewal_info.save(state)
        return state


def _answered(
    cert_id: str,
    ari_id: str,
    previous: RenewalInfoState | None,
    now: datetime,
    window: RenewalWindow,
) -> RenewalInfoState:
    """A window from the CA, with the moment to renew (kept if the window did not move)."""
    suggested = SuggestedWindow(window.start, window.end, window.explanation_url)
    kept = (
        (previous.window, previous.renew_at)
        if previous is not None
        and previous.ari_cert_id == ari_id
        and previous.window is not None
        and previous.renew_at is not None
        else None
    )
    renew_at = choose_renewal_time(suggested, now, _RANDOM.random(), previous=kept)
    return RenewalInfoState(
        certificate_id=cert_id,
        ari_cert_id=ari_id,
        checked_at=now,
        next_check_at=next_check_at(window.retry_after, now),
        window=suggested,
        renew_at=renew_at,
    )


def _failed(
    cert_id: str, ari_id: str, now: datetime, detail: str, exc: Exception
) -> RenewalInfoState:
    """A failed check: no window (the policy applies), the error, and when to try again."""
    retry = exc.retry_after if isinstance(exc, ConnectorError) else None
    return RenewalInfoState(
        certificate_id=cert_id,
        ari_cert_id=ari_id,
        checked_at=now,
        next_check_at=next_check_at(
            str(int(retry)) if retry is not None else None, now, default=RETRY_AFTER_ERROR
        ),
        last_error=detail[:1000],
    )
