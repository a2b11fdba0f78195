"""Revocations a remote CA (ACME, Vault, step-ca…) has not yet been told about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import CertificateRevocationRow, CertificateVersionRow, IssuerCARow


@dataclass(frozen=True)
class RevocationNotice:
    """One revoked serial of a remote issuer, with the revoked certificate's PEM chain."""

    revocation_id: str
    issuer_id: str
    serial_number: str
    reason: str
    pem_chain: str


class RevocationNoticeRepository:
    """Reads pending notices and marks them sent."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def pending(
        self, *, revocation_ids: Sequence[str] | None = None, limit: int = 500
    ) -> list[RevocationNotice]:
        """Unsent revocations of issuers without a local CA (all, or only `revocation_ids`)."""
        revocation, version = CertificateRevocationRow, CertificateVersionRow
        local = select(IssuerCARow.issuer_id)
        stmt = (
            select(revocation, version.pem_chain)
            .join(
                version,
                and_(
                    version.certificate_id == revocation.certificate_id,
                    version.serial_number == revocation.serial_number,
                ),
            )
            .where(
                revocation.issuer_notified.is_(False),
                revocation.issuer_id.is_not(None),
                revocation.issuer_id.not_in(local),
            )
            .order_by(revocation.revoked_at, revocation.id)
            .limit(limit)
        )
        if revocation_ids is not None:
            stmt = stmt.where(revocation.id.in_(list(revocation_ids)))
        rows = (await self.session.execute(stmt)).all()
        return [
            RevocationNotice(r.id, str(r.issuer_id), r.serial_number, r.reason, pem)
            for r, pem in rows
        ]

    async def mark_sent(self, revocation_id: str) -> None:
        """The issuer acknowledged the revocation."""
        await self.session.execute(
            update(CertificateRevocationRow)
            .where(CertificateRevocationRow.id == revocation_id)
            .values(issuer_notified=True)
        )
