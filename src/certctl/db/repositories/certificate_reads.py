"""Certificate reads in one statement each: the page, its total and every row's target ids.

The API's list and read-by-id are the hottest read paths (SPEC C13). Each answers from one
Core `SELECT` of explicit columns: the page rows joined to their target links, with the
filtered count as an uncorrelated scalar subquery (PostgreSQL runs it once as an InitPlan,
SQLite once per statement), so a page costs one round trip instead of a count, a page and a
links query, and rows are built into domain objects without the ORM's identity map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, String, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from certctl.db.models import CertificateTargetRow, ManagedCertificateRow
from certctl.domain.certificates import (
    CertificateFilter,
    CertificateSource,
    CertificateStatus,
    ManagedCertificate,
)
from certctl.domain.listing import Page, PageRequest, SortKey

_TABLE = ManagedCertificateRow.__table__
_LINKS = CertificateTargetRow.__table__
# Every stored field of ManagedCertificate, in the order rows are unpacked below.
FIELDS = (
    "id",
    "name",
    "common_name",
    "created_at",
    "updated_at",
    "sans",
    "environment",
    "owner_id",
    "team_id",
    "issuer_id",
    "renewal_policy_id",
    "certificate_profile_id",
    "status",
    "expires_at",
    "tags",
    "source",
    "last_renewal_at",
    "last_deployment_at",
    "revoked_at",
    "revocation_reason",
)
_COLUMNS = [_TABLE.c[name] for name in FIELDS]
_STATUS = {s.value: s for s in CertificateStatus}
_SOURCE = {s.value: s for s in CertificateSource}


def _certificate(row: Sequence[Any], target_ids: tuple[str, ...]) -> ManagedCertificate:
    """The domain object from a row in FIELDS order (values already typed by the columns)."""
    (
        cert_id,
        name,
        common_name,
        created_at,
        updated_at,
        sans,
        environment,
        owner_id,
        team_id,
        issuer_id,
        renewal_policy_id,
        profile_id,
        status,
        expires_at,
        tags,
        source,
        last_renewal_at,
        last_deployment_at,
        revoked_at,
        revocation_reason,
    ) = row[: len(FIELDS)]
    return ManagedCertificate(
        id=cert_id,
        name=name,
        common_name=common_name,
        created_at=created_at,
        updated_at=updated_at,
        sans=tuple(sans or ()),
        environment=environment,
        owner_id=owner_id,
        team_id=team_id,
        issuer_id=issuer_id,
        renewal_policy_id=renewal_policy_id,
        certificate_profile_id=profile_id,
        status=_STATUS[status],
        expires_at=expires_at,
        tags=dict(tags or {}),
        source=_SOURCE[source],
        target_ids=target_ids,
        last_renewal_at=last_renewal_at,
        last_deployment_at=last_deployment_at,
        revoked_at=revoked_at,
        revocation_reason=revocation_reason,
    )


def _grouped(rows: Sequence[Sequence[Any]]) -> list[ManagedCertificate]:
    """Certificates from rows joined to their links (one row per link, ordered by link)."""
    found: list[ManagedCertificate] = []
    current: Sequence[Any] | None = None
    targets: list[str] = []
    for row in rows:
        if current is not None and row[0] != current[0]:
            found.append(_certificate(current, tuple(targets)))
            targets = []
        current = row
        target = row[-1]
        if target is not None:
            targets.append(target)
    if current is not None:
        found.append(_certificate(current, tuple(targets)))
    return found


def _order(columns: Any, sort: SortKey) -> list[ColumnElement[Any]]:
    """ORDER BY of a page: the sort column (NULLs last either way), then id in the same
    direction, so pages never overlap."""
    col, tiebreak = columns[sort.field], columns["id"]
    if sort.descending:
        return [col.desc().nulls_last(), tiebreak.desc()]
    return [col.asc().nulls_last(), tiebreak.asc()]


_EQUALS = (
    "environment",
    "owner_id",
    "team_id",
    "issuer_id",
    "renewal_policy_id",
    "certificate_profile_id",
    "source",
)


@dataclass(frozen=True)
class _Shape:
    """Which filters a request sets (not their values): statements are built once per shape."""

    equals: tuple[str, ...]
    statuses: int
    include_archived: bool
    before: bool
    after: bool
    q: bool


def _shape_and_params(f: CertificateFilter) -> tuple[_Shape, dict[str, Any]]:
    """The filter's shape and the values bound into its statements."""
    params: dict[str, Any] = {}
    equals = tuple(name for name in _EQUALS if getattr(f, name) is not None)
    for name in equals:
        params[name] = getattr(f, name)
    for i, status in enumerate(f.statuses):
        params[f"status_{i}"] = status.value
    if f.expires_before is not None:
        params["expires_before"] = f.expires_before
    if f.expires_after is not None:
        params["expires_after"] = f.expires_after
    if f.q:
        params["q"] = f"%{f.q.lower()}%"
    shape = _Shape(
        equals=equals,
        statuses=len(f.statuses),
        include_archived=f.include_archived,
        before=f.expires_before is not None,
        after=f.expires_after is not None,
        q=bool(f.q),
    )
    return shape, params


def _where(shape: _Shape) -> list[ColumnElement[bool]]:
    """WHERE clauses of a shape, values as named bind parameters (Archived left out unless
    asked for or named)."""
    c = _TABLE.c
    clauses: list[ColumnElement[bool]] = [c[name] == bindparam(name) for name in shape.equals]
    if shape.statuses:
        clauses.append(c.status.in_([bindparam(f"status_{i}") for i in range(shape.statuses)]))
    elif not shape.include_archived:
        clauses.append(c.status != CertificateStatus.ARCHIVED.value)
    if shape.before:
        clauses.append(c.expires_at < bindparam("expires_before", type_=c.expires_at.type))
    if shape.after:
        clauses.append(c.expires_at > bindparam("expires_after", type_=c.expires_at.type))
    if shape.q:
        # Case-insensitive substring of the name or the common name.
        pattern = bindparam("q", type_=String)
        clauses.append(
            or_(func.lower(c.name).like(pattern), func.lower(c.common_name).like(pattern))
        )
    return clauses


def certificate_filter(f: CertificateFilter) -> tuple[list[ColumnElement[bool]], dict[str, Any]]:
    """WHERE clauses of a certificate filter and the parameters to execute them with."""
    shape, params = _shape_and_params(f)
    return _where(shape), params


@lru_cache(maxsize=512)
def _count_statement(shape: _Shape) -> Select[Any]:
    return select(func.count()).select_from(_TABLE).where(*_where(shape))


@lru_cache(maxsize=512)
def _page_statement(shape: _Shape, sort: SortKey) -> Select[Any]:
    """Rows of the page (sorted, then id), the total, then one target id per row (or NULL).

    Built once per filter shape and sort: building a statement costs more CPU than running
    a cached one, and the compiled form is then found in SQLAlchemy's cache.
    """
    page = (
        select(*_COLUMNS)
        .where(*_where(shape))
        .order_by(*_order(_TABLE.c, sort))
        .offset(bindparam("page_offset", type_=Integer))
        .limit(bindparam("page_limit", type_=Integer))
        .subquery("page")
    )
    return (
        select(page, _count_statement(shape).scalar_subquery().label("total"), _LINKS.c.target_id)
        .outerjoin(_LINKS, _LINKS.c.certificate_id == page.c.id)
        .order_by(*_order(page.c, sort), _LINKS.c.target_id)
    )


_BY_ID = (
    select(*_COLUMNS, _LINKS.c.target_id)
    .outerjoin(_LINKS, _LINKS.c.certificate_id == _TABLE.c.id)
    .where(_TABLE.c.id == bindparam("certificate_id"))
    .order_by(_LINKS.c.target_id)
)


_BY_IDS = (
    select(*_COLUMNS, _LINKS.c.target_id)
    .outerjoin(_LINKS, _LINKS.c.certificate_id == _TABLE.c.id)
    .where(_TABLE.c.id.in_(bindparam("certificate_ids", expanding=True)))
    .order_by(_TABLE.c.id, _LINKS.c.target_id)
)


class CertificateReads:
    """Certificate reads on one connection (a session's, or a transaction-less one)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, certificate_id: str) -> ManagedCertificate | None:
        """The certificate with its target ids, or None."""
        result = await self.conn.execute(_BY_ID, {"certificate_id": certificate_id})
        found = _grouped(result.all())
        return found[0] if found else None

    async def many(self, certificate_ids: Sequence[str]) -> dict[str, ManagedCertificate]:
        """The certificates among `certificate_ids` that exist, by id, in one statement."""
        if not certificate_ids:
            return {}
        result = await self.conn.execute(_BY_IDS, {"certificate_ids": list(certificate_ids)})
        return {c.id: c for c in _grouped(result.all())}

    async def page(
        self, *, request: PageRequest, sort: SortKey, filters: CertificateFilter
    ) -> Page[ManagedCertificate]:
        """One page of the certificates matching `filters`, with the true total."""
        shape, params = _shape_and_params(filters)
        paged = {**params, "page_offset": request.offset, "page_limit": request.per_page}
        rows = (await self.conn.execute(_page_statement(shape, sort), paged)).all()
        if rows:
            count = int(rows[0][-2])
        elif request.offset == 0:
            count = 0  # nothing matches at all
        else:  # past the last page: the joined statement returned no row to carry the total
            count = int(await self.conn.scalar(_count_statement(shape), params) or 0)
        return Page(items=_grouped(rows), total=count, page=request.page, per_page=request.per_page)
