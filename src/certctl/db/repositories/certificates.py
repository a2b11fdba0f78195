"""Managed certificates (with their targets) and their versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, distinct, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import (
    CertificateStatusCountRow,
    CertificateTargetRow,
    CertificateVersionRow,
    IssuerRow,
    ManagedCertificateRow,
    OwnerRow,
    TeamRow,
)
from certctl.db.repositories.base import Codec, Repository, conflict_from
from certctl.db.repositories.certificate_queries import STATUS_COUNTS
from certctl.db.repositories.certificate_reads import CertificateReads, certificate_filter
from certctl.domain.certificates import (
    CertificateFilter,
    CertificateSource,
    CertificateStatus,
    CertificateVersion,
    ManagedCertificate,
)
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.errors import NotFound

CERTIFICATE = Codec(
    ManagedCertificate,
    {"status": CertificateStatus, "source": CertificateSource, "tags": dict},
    skip=("target_ids",),
)
VERSION = Codec(CertificateVersion)
_TABLE = cast(Table, ManagedCertificateRow.__table__)
_COUNTS = cast(Table, CertificateStatusCountRow.__table__)
_COUNT_ROWS = select(func.count(), func.count(distinct(_COUNTS.c.status)))
_TAKE_COUNTS = delete(_COUNTS).returning(_COUNTS.c.status, _COUNTS.c.delta)
_VERSIONS = cast(Table, CertificateVersionRow.__table__)
_OWN_COLUMNS = [name for name in CERTIFICATE.fields if name != "id"]
# Built once on the table: issuance writes every certificate's own columns, and building
# the statement (with the ORM's bulk-update bookkeeping) cost more than running it.
_UPDATE_OWN = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values({name: bindparam(f"new_{name}", type_=_TABLE.c[name].type) for name in _OWN_COLUMNS})
)


def _own_params(columns: dict[str, Any]) -> dict[str, Any]:
    """The parameters of `_UPDATE_OWN` for one certificate's columns."""
    return {"row_id": columns["id"], **{f"new_{name}": columns[name] for name in _OWN_COLUMNS}}


class CertificateRepository(Repository[ManagedCertificate]):
    """Managed certificates; `target_ids` live in the certificate_targets join table."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(
            session,
            ManagedCertificateRow,
            CERTIFICATE,
            "certificate",
            ("name", "common_name"),
        )

    async def get(self, resource_id: str) -> ManagedCertificate | None:
        return await CertificateReads(await self.session.connection()).get(resource_id)

    def decode(self, row: Any) -> ManagedCertificate:
        return self.codec.from_row(row, target_ids=())

    async def add(self, obj: ManagedCertificate) -> ManagedCertificate:
        await super().add(obj)
        await self._set_targets(obj.id, obj.target_ids)
        return obj

    async def update(self, obj: ManagedCertificate) -> ManagedCertificate:
        await super().update(obj)
        await self._set_targets(obj.id, obj.target_ids)
        return obj

    async def update_own_columns(self, obj: ManagedCertificate) -> ManagedCertificate:
        """Write the certificate's own columns and leave its target links untouched.

        For status, expiry and revocation changes, which never change the targets: it spares
        the delete and re-insert of every link. One `UPDATE … WHERE id` (no read of the row
        first): issuance writes it on every certificate.
        """
        done = await self.session.execute(_UPDATE_OWN, _own_params(self.codec.to_columns(obj)))
        if getattr(done, "rowcount", 0) == 0:
            raise NotFound(self.resource_type, obj.id)
        return obj

    async def set_statuses(self, changes: Mapping[str, CertificateStatus], now: datetime) -> None:
        """Set each certificate's status and `updated_at`: one `UPDATE … WHERE id IN (…)` per
        status instead of a read and a write per certificate; a missing one is NotFound."""
        by_status: dict[CertificateStatus, list[str]] = {}
        for certificate_id, status in changes.items():
            by_status.setdefault(status, []).append(certificate_id)
        for status, ids in by_status.items():
            stmt = (
                update(_TABLE)
                .where(_TABLE.c.id.in_(ids))
                .values(status=status.value, updated_at=now)
                .returning(_TABLE.c.id)
            )
            found = set((await self.session.scalars(stmt)).all())
            for certificate_id in ids:
                if certificate_id not in found:
                    raise NotFound(self.resource_type, certificate_id)

    async def update_own_columns_all(self, objs: Sequence[ManagedCertificate]) -> None:
        """`update_own_columns` for several certificates in one executemany `UPDATE`.

        For rows this transaction has just read and inserted versions under: the versions'
        foreign keys keep them from being deleted, so every row is there to update.
        """
        if len(objs) == 1:
            await self.update_own_columns(objs[0])
            return
        if objs:
            rows = [_own_params(self.codec.to_columns(obj)) for obj in objs]
            await self.session.execute(_UPDATE_OWN, rows)

    async def _set_targets(self, certificate_id: str, target_ids: Sequence[str]) -> None:
        await self.session.execute(
            delete(CertificateTargetRow).where(
                CertificateTargetRow.certificate_id == certificate_id
            )
        )
        if target_ids:
            await self.session.execute(
                insert(CertificateTargetRow),
                [{"certificate_id": certificate_id, "target_id": t} for t in target_ids],
            )
        await self._flush()

    async def search(
        self, *, request: PageRequest, sort: SortKey, filters: CertificateFilter
    ) -> Page[ManagedCertificate]:
        """One page of certificates matching `filters`, each with its target ids."""
        reads = CertificateReads(await self.session.connection())
        return await reads.page(request=request, sort=sort, filters=filters)

    async def count_by_status(self) -> dict[str, int]:
        """Number of certificates per status (statuses with none left out), from the
        per-status delta rows: a few rows to add up, whatever the number of certificates."""
        return {status: int(n) for status, n in (await self.session.execute(STATUS_COUNTS)).all()}

    async def fold_status_counts(self) -> int:
        """Replace the per-status delta rows by one row per status; the rows folded away.

        The rows taken are the ones this transaction sees; deltas other transactions commit
        meanwhile stay and are folded next time, so every sum holds throughout.
        """
        rows, statuses = (await self.session.execute(_COUNT_ROWS)).one()
        if rows <= statuses:
            return 0
        taken = (await self.session.execute(_TAKE_COUNTS)).all()
        sums: dict[str, int] = {}
        for status, delta in taken:
            sums[status] = sums.get(status, 0) + int(delta)
        kept = [{"status": s, "delta": n} for s, n in sorted(sums.items()) if n]
        if kept:
            await self.session.execute(insert(_COUNTS), kept)
        return len(taken) - len(kept)

    async def count_expiring(self, *, now: datetime, until: datetime) -> int:
        """Certificates not archived or revoked whose expiry falls in [now, until]."""
        stmt = select(func.count()).where(
            ManagedCertificateRow.expires_at >= now,
            ManagedCertificateRow.expires_at <= until,
            ManagedCertificateRow.status.not_in(
                [CertificateStatus.ARCHIVED.value, CertificateStatus.REVOKED.value]
            ),
        )
        return int(await self.session.scalar(stmt) or 0)

    async def renewal_candidates(
        self, *, until: datetime, statuses: Sequence[CertificateStatus]
    ) -> list[tuple[str, str | None, datetime]]:
        """(id, renewal_policy_id, expires_at) of issuer-backed certificates expiring by `until`."""
        row = ManagedCertificateRow
        stmt = (
            select(row.id, row.renewal_policy_id, row.expires_at)
            .join(IssuerRow, IssuerRow.id == row.issuer_id)
            .where(
                IssuerRow.enabled.is_(True),
                row.expires_at.is_not(None),
                row.expires_at <= until,
                row.status.in_([s.value for s in statuses]),
            )
            .order_by(row.expires_at, row.id)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(i, p, e) for i, p, e in rows if e is not None]

    async def matching_ids(
        self, filters: CertificateFilter, *, limit: int
    ) -> tuple[list[str], int]:
        """Ids of up to `limit` certificates matching `filters` (oldest expiry first), and the count."""
        row = ManagedCertificateRow
        clauses, params = certificate_filter(filters)
        count = select(func.count()).select_from(row).where(*clauses)
        total = await self.session.scalar(count, params)
        stmt = select(row.id).where(*clauses).order_by(row.expires_at, row.id).limit(limit)
        return list((await self.session.scalars(stmt, params)).all()), int(total or 0)


class VersionRepository(Repository[CertificateVersion]):
    """Issued versions of managed certificates, newest first."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, CertificateVersionRow, VERSION, "certificate_version")

    async def add(self, obj: CertificateVersion) -> CertificateVersion:
        """Insert the version as one Core `INSERT` (no ORM object to flush: every issuance
        writes one); a duplicate is a Conflict."""
        try:
            await self.session.execute(insert(_VERSIONS), self.codec.to_columns(obj))
        except IntegrityError as exc:
            raise conflict_from(exc, self.resource_type) from exc
        return obj

    async def add_all(self, objs: Sequence[CertificateVersion]) -> None:
        """Insert several versions in one executemany `INSERT`; a duplicate is a Conflict."""
        if not objs:
            return
        try:
            await self.session.execute(
                insert(_VERSIONS), [self.codec.to_columns(obj) for obj in objs]
            )
        except IntegrityError as exc:
            raise conflict_from(exc, self.resource_type) from exc

    async def for_certificate(self, certificate_id: str) -> list[CertificateVersion]:
        """Every version of one certificate, newest first."""
        stmt = (
            select(CertificateVersionRow)
            .where(CertificateVersionRow.certificate_id == certificate_id)
            .order_by(CertificateVersionRow.not_before.desc(), CertificateVersionRow.id.desc())
        )
        return [self.decode(r) for r in (await self.session.scalars(stmt)).all()]

    async def newest_chain(self, certificate_id: str) -> str | None:
        """The PEM chain of the certificate's newest version (as `for_certificate` orders
        them), which a renewal replaces; None before the first."""
        stmt = (
            select(CertificateVersionRow.pem_chain)
            .where(CertificateVersionRow.certificate_id == certificate_id)
            .order_by(CertificateVersionRow.not_before.desc(), CertificateVersionRow.id.desc())
            .limit(1)
        )
        chain: str | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return chain

    async def by_fingerprint(self, fingerprint: str) -> CertificateVersion | None:
        """The version with this SHA-256 fingerprint, if any."""
        stmt = select(CertificateVersionRow).where(
            CertificateVersionRow.fingerprint_sha256 == fingerprint
        )
        row = await self.session.scalar(stmt)
        return None if row is None else self.decode(row)


@dataclass(frozen=True)
class AlertCandidate:
    """A certificate due for an expiry check, with what alert messages show about it."""

    certificate: ManagedCertificate
    version_ref: str
    owner_name: str
    owner_email: str
    team_name: str
    issuer_name: str
    not_before: datetime | None = None
    """The latest version's notBefore: percentage thresholds count against its validity."""


async def alert_candidates(session: AsyncSession, *, until: datetime) -> list[AlertCandidate]:
    """Certificates expiring before `until` that still alert (not Archived, Revoked or Pending)."""
    mc = _TABLE  # Core rows: no ORM identity map or instance state for thousands of them

    def latest(column: Any) -> Any:
        return (
            select(column)
            .where(CertificateVersionRow.certificate_id == mc.c.id)
            .order_by(CertificateVersionRow.not_before.desc(), CertificateVersionRow.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    stmt = (
        select(
            mc,
            latest(CertificateVersionRow.id).label("latest_version_id"),
            latest(CertificateVersionRow.not_before).label("latest_not_before"),
            OwnerRow.name.label("owner_name"),
            OwnerRow.email.label("owner_email"),
            TeamRow.name.label("team_name"),
            IssuerRow.name.label("issuer_name"),
        )
        .outerjoin(OwnerRow, OwnerRow.id == mc.c.owner_id)
        .outerjoin(TeamRow, TeamRow.id == mc.c.team_id)
        .outerjoin(IssuerRow, IssuerRow.id == mc.c.issuer_id)
        .where(
            mc.c.expires_at.is_not(None),
            # Expiring rows outside the window are included so that a certificate whose
            # expiry moved out (renewed, corrected) goes back to Active.
            or_(mc.c.expires_at <= until, mc.c.status == CertificateStatus.EXPIRING.value),
            mc.c.status.not_in(_SILENT_STATUSES),
        )
    )
    result = []
    for row in (await session.execute(stmt)).all():
        cert = CERTIFICATE.from_row(row, target_ids=())
        assert cert.expires_at is not None
        result.append(
            AlertCandidate(
                certificate=cert,
                version_ref=row.latest_version_id or cert.expires_at.isoformat(),
                owner_name=row.owner_name or "",
                owner_email=row.owner_email or "",
                team_name=row.team_name or "",
                issuer_name=row.issuer_name or "",
                not_before=row.latest_not_before,
            )
        )
    return result


_SILENT_STATUSES = [
    CertificateStatus.ARCHIVED.value,
    CertificateStatus.REVOKED.value,
    CertificateStatus.PENDING.value,
]
