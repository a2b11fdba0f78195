"""Local CA material, revocation records and CRL state (C5, C6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, and_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import (
    CertificateRevocationRow,
    CertificateVersionRow,
    CRLStateRow,
    IssuerCARow,
    ManagedCertificateRow,
)
from certctl.db.repositories.base import Codec, conflict_from
from certctl.domain.pki import CRLState, IssuedSerial, Revocation, StoredCA, StoredRevocation
from certctl.errors import NotFound

STORED_CA = Codec(StoredCA)
REVOCATION = Codec(Revocation)


class PkiRepository:
    """CA rows, revocation rows and CRL state; every write flushes in the unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise conflict_from(exc, "revocation") from exc

    # --- CA material -------------------------------------------------------------------

    async def add_ca(self, ca: StoredCA) -> None:
        """Store a new CA with its CRL counter at zero."""
        self.session.add(IssuerCARow(**STORED_CA.to_columns(ca)))
        self.session.add(CRLStateRow(issuer_id=ca.issuer_id, crl_number=0))
        await self._flush()

    async def get_ca(self, issuer_id: str) -> StoredCA | None:
        """The stored CA of an issuer, if it has one."""
        row = await self.session.get(IssuerCARow, issuer_id)
        return None if row is None else STORED_CA.from_row(row)

    async def ca_issuer_ids(self) -> list[str]:
        """Every issuer with a local CA."""
        stmt = select(IssuerCARow.issuer_id).order_by(IssuerCARow.issuer_id)
        return list((await self.session.scalars(stmt)).all())

    async def set_responder(self, issuer_id: str, cert_pem: str, sealed_key: str) -> None:
        """Replace the CA's OCSP responder certificate and sealed key."""
        await self.session.execute(
            update(IssuerCARow)
            .where(IssuerCARow.issuer_id == issuer_id)
            .values(responder_cert_pem=cert_pem, responder_sealed_key=sealed_key)
        )

    # --- Revocations -------------------------------------------------------------------

    async def add_revocation(self, revocation: Revocation) -> None:
        """Record a revoked serial; the same serial of the same issuer twice is a Conflict."""
        self.session.add(CertificateRevocationRow(**REVOCATION.to_columns(revocation)))
        await self._flush()

    async def mark_notified(self, revocation_id: str) -> None:
        """Note that the issuer has published the revocation."""
        await self.session.execute(
            update(CertificateRevocationRow)
            .where(CertificateRevocationRow.id == revocation_id)
            .values(issuer_notified=True)
        )

    async def unpublished_revocations(self, issuer_id: str) -> list[str]:
        """Ids of the CA's revocations not yet on a published CRL, oldest first."""
        rev = CertificateRevocationRow
        stmt = (
            select(rev.id)
            .where(rev.issuer_id == issuer_id, rev.issuer_notified.is_(False))
            .order_by(rev.revoked_at, rev.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def all_revocations(self) -> list[Revocation]:
        """Every revocation, oldest first."""
        stmt = select(CertificateRevocationRow).order_by(
            CertificateRevocationRow.revoked_at, CertificateRevocationRow.id
        )
        return [REVOCATION.from_row(r) for r in (await self.session.scalars(stmt)).all()]

    async def crl_rows(self, issuer_id: str) -> list[StoredRevocation]:
        """Every revocation of one CA as a CRL needs it: serial, reason, time and the revoked
        version's validity (short-lived versions stay off CRLs).

        Plain driver values, not UTC-normalised: 100,000 of them feed `stored_entries`,
        which reads naive times as UTC, and a conversion per value was most of the read.
        """
        rev, ver = CertificateRevocationRow.__table__.c, CertificateVersionRow.__table__.c
        raw = DateTime(timezone=True)
        stmt = (
            select(
                rev.serial_number,
                rev.reason,
                type_coerce(rev.revoked_at, raw),
                type_coerce(ver.not_before, raw),
                type_coerce(ver.not_after, raw),
            )
            .outerjoin(
                CertificateVersionRow.__table__,
                and_(
                    ver.certificate_id == rev.certificate_id,
                    ver.serial_number == rev.serial_number,
                ),
            )
            .where(rev.issuer_id == issuer_id)
            .order_by(rev.revoked_at, rev.serial_number)
        )
        rows: list[StoredRevocation] = (await self.session.execute(stmt)).all()  # type: ignore[assignment]
        return rows

    async def issued_serial(self, issuer_id: str, serial_number: str) -> IssuedSerial | None:
        """A serial issued for a certificate of this issuer, with its revocation if any."""
        ver, mc = CertificateVersionRow, ManagedCertificateRow
        stmt = (
            select(ver.not_before, ver.not_after)
            .join(mc, mc.id == ver.certificate_id)
            .where(ver.serial_number == serial_number, mc.issuer_id == issuer_id)
            .limit(1)
        )
        found = (await self.session.execute(stmt)).first()
        if found is None:
            return None
        revoked = await self.session.scalar(
            select(CertificateRevocationRow).where(
                CertificateRevocationRow.issuer_id == issuer_id,
                CertificateRevocationRow.serial_number == serial_number,
            )
        )
        return IssuedSerial(
            serial_number=serial_number,
            not_before=found[0],
            not_after=found[1],
            revocation=None if revoked is None else REVOCATION.from_row(revoked),
        )

    # --- CRL state ---------------------------------------------------------------------

    async def next_crl_number(self, issuer_id: str) -> int:
        """Increment the CA's CRL number in the database and return the new value."""
        stmt = (
            update(CRLStateRow)
            .where(CRLStateRow.issuer_id == issuer_id)
            .values(crl_number=CRLStateRow.crl_number + 1)
            .returning(CRLStateRow.crl_number)
        )
        number = (await self.session.execute(stmt)).scalar_one_or_none()
        if number is None:
            raise NotFound("crl", issuer_id)
        return int(number)

    async def get_crl(self, issuer_id: str) -> CRLState | None:
        """The CA's latest CRL state."""
        row: Any = await self.session.get(CRLStateRow, issuer_id, populate_existing=True)
        if row is None:
            return None
        return CRLState(
            issuer_id=row.issuer_id,
            crl_number=int(row.crl_number),
            der_b64=row.der,
            this_update=row.this_update,
            next_update=row.next_update,
            etag=row.etag,
        )

    async def save_crl(
        self,
        issuer_id: str,
        *,
        der_b64: str,
        this_update: datetime,
        next_update: datetime,
        etag: str,
    ) -> None:
        """Store the newly generated CRL."""
        await self.session.execute(
            update(CRLStateRow)
            .where(CRLStateRow.issuer_id == issuer_id)
            .values(der=der_b64, this_update=this_update, next_update=next_update, etag=etag)
        )
