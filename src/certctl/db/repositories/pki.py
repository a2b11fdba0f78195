"""Local CA material, revocation records and CRL state (C5, C6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    LargeBinary,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
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
from certctl.domain.crl_entry import EncodedEntries, crl_entry_der
from certctl.domain.pki import CRLState, IssuedSerial, Revocation, StoredCA
from certctl.errors import InvalidRequest, NotFound

STORED_CA = Codec(StoredCA)
REVOCATION = Codec(Revocation)
_US = timedelta(microseconds=1)


def _entry_der(revocation: Revocation) -> bytes | None:
    """The revocation's CRL entry; None when it cannot be listed (the CRL then says why)."""
    try:
        return crl_entry_der(revocation.serial_number, revocation.revoked_at, revocation.reason)
    except InvalidRequest:
        return None


def _micros(column: Any) -> ColumnElement[int]:
    """Microseconds since the epoch of a time SQLite stores as 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    # The whole seconds only: strftime rounds a time with a fraction to the nearest second.
    seconds = cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
    return seconds * 1_000_000 + cast(func.substr(column, 21, 6), Integer)


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
        self.session.add(
            CertificateRevocationRow(
                **REVOCATION.to_columns(revocation), entry_der=_entry_der(revocation)
            )
        )
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

    async def crl_entries(self, issuer_id: str, *, min_lifetime: timedelta) -> EncodedEntries:
        """The DER of every entry on one CA's CRL, concatenated in CRL order (revocation
        time, then serial), versions valid for less than `min_lifetime` left out (they
        expire before a revocation would matter; one of unknown validity is listed).

        PostgreSQL concatenates in the query: 100,000 entries come back as one value.
        """
        rev, ver = CertificateRevocationRow.__table__.c, CertificateVersionRow.__table__.c
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            lifetime: ColumnElement[bool] = ver.not_after - ver.not_before >= min_lifetime
        else:  # SQLite keeps times as text: compare whole microseconds, exactly
            lifetime = _micros(ver.not_after) - _micros(ver.not_before) >= min_lifetime // _US
        listed = and_(
            rev.issuer_id == issuer_id,
            or_(ver.not_before.is_(None), ver.not_after.is_(None), lifetime),
        )
        order = (rev.revoked_at, rev.serial_number)
        joined = CertificateRevocationRow.__table__.outerjoin(
            CertificateVersionRow.__table__,
            and_(
                ver.certificate_id == rev.certificate_id,
                ver.serial_number == rev.serial_number,
            ),
        )
        if dialect == "postgresql":
            concatenated = func.string_agg(
                rev.entry_der, aggregate_order_by(literal(b"", LargeBinary), *order)
            )
            missing_count = func.count() - func.count(rev.entry_der)
            stmt = select(type_coerce(concatenated, LargeBinary), missing_count)
            der, missing = (
                await self.session.execute(stmt.select_from(joined).where(listed))
            ).one()
            der = der or b""
        else:
            stmt = select(rev.entry_der).select_from(joined).where(listed).order_by(*order)
            parts = (await self.session.scalars(stmt)).all()
            der = b"".join(part for part in parts if part is not None)
            missing = len(parts) - sum(part is not None for part in parts)
        if not missing:
            return EncodedEntries(der)
        unencoded = select(rev.serial_number, rev.revoked_at, rev.reason).select_from(joined)
        found = await self.session.execute(
            unencoded.where(listed, rev.entry_der.is_(None)).order_by(*order)
        )
        return EncodedEntries(der, tuple((s, t, r) for s, t, r in found.all()))

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
