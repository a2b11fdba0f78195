"""ACME renewal information per certificate (RFC 9773): the stored window and check times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import CertificateRenewalInfoRow, IssuerRow, ManagedCertificateRow
from certctl.domain.certificates import CertificateStatus
from certctl.domain.inventory import IssuerType
from certctl.domain.renewal_info import RenewalInfoState, SuggestedWindow

ROW = CertificateRenewalInfoRow
_TABLE = cast(Table, ROW.__table__)
# Built once on the table: every issuance sends it.
_FORGET = delete(_TABLE).where(
    _TABLE.c.certificate_id.in_(bindparam("certificate_ids", expanding=True))
)


def _decode(row: CertificateRenewalInfoRow) -> RenewalInfoState:
    window = (
        SuggestedWindow(row.window_start, row.window_end, row.explanation_url)
        if row.window_start is not None and row.window_end is not None
        else None
    )
    return RenewalInfoState(
        certificate_id=row.certificate_id,
        ari_cert_id=row.ari_cert_id,
        checked_at=row.checked_at,
        next_check_at=row.next_check_at,
        window=window,
        renew_at=row.renew_at,
        last_error=row.last_error,
    )


class RenewalInfoRepository:
    """certificate_renewal_info rows."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, certificate_id: str) -> RenewalInfoState | None:
        """What is known of one certificate's renewal information."""
        row = await self.session.get(ROW, certificate_id)
        return None if row is None else _decode(row)

    async def for_certificates(self, certificate_ids: Sequence[str]) -> dict[str, RenewalInfoState]:
        """The stored renewal information of each of these certificates that has some."""
        if not certificate_ids:
            return {}
        stmt = select(ROW).where(ROW.certificate_id.in_(list(certificate_ids)))
        return {r.certificate_id: _decode(r) for r in (await self.session.scalars(stmt)).all()}

    async def save(self, state: RenewalInfoState) -> None:
        """Store the outcome of a check (replacing the previous one)."""
        await self.forget(state.certificate_id)
        window = state.window
        self.session.add(
            ROW(
                certificate_id=state.certificate_id,
                ari_cert_id=state.ari_cert_id,
                checked_at=state.checked_at,
                next_check_at=state.next_check_at,
                window_start=window.start if window else None,
                window_end=window.end if window else None,
                explanation_url=window.explanation_url if window else None,
                renew_at=state.renew_at,
                last_error=state.last_error,
            )
        )
        await self.session.flush()

    async def forget(self, certificate_id: str) -> None:
        """Drop what was known (a new version has another certID)."""
        await self.session.execute(delete(ROW).where(ROW.certificate_id == certificate_id))

    async def forget_all(self, certificate_ids: Sequence[str]) -> None:
        """`forget` for several certificates in one statement."""
        if certificate_ids:
            await self.session.execute(_FORGET, {"certificate_ids": list(certificate_ids)})

    async def to_check(
        self, *, now: datetime, statuses: Sequence[CertificateStatus], limit: int
    ) -> list[str]:
        """Unexpired certificates of enabled ACME issuers never checked or due for a check
        (their Retry-After has passed), longest waiting first."""
        cert = ManagedCertificateRow
        stmt = (
            select(cert.id)
            .join(IssuerRow, IssuerRow.id == cert.issuer_id)
            .outerjoin(ROW, ROW.certificate_id == cert.id)
            .where(
                IssuerRow.enabled.is_(True),
                IssuerRow.type == IssuerType.ACME.value,
                cert.expires_at > now,
                cert.status.in_([s.value for s in statuses]),
                or_(ROW.certificate_id.is_(None), ROW.next_check_at <= now),
            )
            .order_by(ROW.next_check_at.is_not(None), ROW.next_check_at, cert.id)
            .limit(limit)
        )
        return list((await self.session.scalars(stmt)).all())

    async def due(
        self, *, until: datetime, statuses: Sequence[CertificateStatus]
    ) -> list[tuple[str, str | None, datetime]]:
        """(id, renewal_policy_id, renew_at) of certificates whose ARI moment comes by
        `until` and whose last check succeeded."""
        cert = ManagedCertificateRow
        stmt = (
            select(cert.id, cert.renewal_policy_id, ROW.renew_at)
            .join(ROW, ROW.certificate_id == cert.id)
            .join(IssuerRow, IssuerRow.id == cert.issuer_id)
            .where(
                IssuerRow.enabled.is_(True),
                ROW.renew_at <= until,
                ROW.last_error.is_(None),
                cert.status.in_([s.value for s in statuses]),
            )
            .order_by(ROW.renew_at, cert.id)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(i, p, e) for i, p, e in rows if e is not None]
