"""Certificate reads in one statement each: the page, its total and every row's target ids.

The API's list and read-by-id are the hottest read paths (SPEC C13). Each answers from one
Core `SELECT` of explicit columns: the page rows joined to their target links, with the
filtered count as an uncorrelated scalar subquery (PostgreSQL runs it once as an InitPlan,
SQLite once per statement), so a page costs one round trip instead of a count, a page and a
links query, and rows are built into domain objects without the ORM's identity map.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, Text, bindparam, cast, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from certctl.db.models import CertificateTargetRow, ManagedCertificateRow
from certctl.db.repositories.certificate_queries import (
    FIELDS,
    FilterShape,
    certificate_filter,
    count_statement,
    page_order,
    shape_and_params,
    where_clauses,
)
from certctl.domain.certificates import (
    CertificateFilter,
    CertificateSource,
    CertificateStatus,
    ManagedCertificate,
)
from certctl.domain.listing import Page, PageRequest, SortKey

__all__ = ["COLUMNS", "FIELDS", "CertificateReads", "certificate_filter", "driver_rows", "grouped"]

_TABLE = ManagedCertificateRow.__table__
_LINKS = CertificateTargetRow.__table__
# The two JSON columns are read as their text and decoded together, one `json.loads` per
# page: fifty documents of a few bytes each cost more in per-call overhead than in parsing.
_JSON_FIELDS = ("sans", "tags")
COLUMNS = [
    cast(_TABLE.c[name], Text).label(name) if name in _JSON_FIELDS else _TABLE.c[name]
    for name in FIELDS
]
_SANS, _TAGS = FIELDS.index("sans"), FIELDS.index("tags")
_STATUS = {s.value: s for s in CertificateStatus}
_SOURCE = {s.value: s for s in CertificateSource}


def _records(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Records (FIELDS order, then `target_ids`) from rows joined to their links (one row
    per link, ordered by certificate then link).

    A plain dict per certificate: the list API encodes these as they are, which costs a
    third of building domain objects and then reading them back.
    """
    found: list[dict[str, Any]] = []
    documents: list[str] = []
    current = None
    targets: list[str] = []
    for row in rows:
        if row[0] != current:
            current = row[0]
            record = dict(zip(FIELDS, row, strict=False))
            documents.append(row[_SANS] or "null")
            documents.append(row[_TAGS] or "null")
            record["target_ids"] = targets = []
            found.append(record)
        if row[-1] is not None:
            targets.append(row[-1])
    if found:
        decoded = iter(json.loads(f"[{','.join(documents)}]"))
        for record in found:
            record["sans"] = next(decoded) or []
            record["tags"] = next(decoded) or {}
    return found


def _certificate(record: dict[str, Any]) -> ManagedCertificate:
    """The domain object of a record."""
    return ManagedCertificate(
        **{
            **record,
            "sans": tuple(record["sans"]),
            "status": _STATUS[record["status"]],
            "source": _SOURCE[record["source"]],
            "target_ids": tuple(record["target_ids"]),
        }
    )


def grouped(rows: Sequence[Sequence[Any]]) -> list[ManagedCertificate]:
    """Certificates from rows joined to their links."""
    return [_certificate(record) for record in _records(rows)]


@lru_cache(maxsize=512)
def _page_statement(shape: FilterShape, sort: SortKey) -> Select[Any]:
    """Rows of the page (sorted, then id), the total, then one target id per row (or NULL).

    Built once per filter shape and sort: building a statement costs more CPU than running
    a cached one, and the compiled form is then found in SQLAlchemy's cache.
    """
    page = (
        select(*COLUMNS)
        .where(*where_clauses(shape))
        .order_by(*page_order(_TABLE.c, sort))
        .offset(bindparam("page_offset", type_=Integer))
        .limit(bindparam("page_limit", type_=Integer))
        .subquery("page")
    )
    return (
        select(page, count_statement(shape).scalar_subquery().label("total"), _LINKS.c.target_id)
        .outerjoin(_LINKS, _LINKS.c.certificate_id == page.c.id)
        .order_by(*page_order(page.c, sort), _LINKS.c.target_id)
    )


_BY_ID = (
    select(*COLUMNS, _LINKS.c.target_id)
    .outerjoin(_LINKS, _LINKS.c.certificate_id == _TABLE.c.id)
    .where(_TABLE.c.id == bindparam("certificate_id"))
    .order_by(_LINKS.c.target_id)
)


@lru_cache(maxsize=512)
def _driver_sql(
    statement: Select[Any], dialect: Dialect
) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """A cached statement's SQL for asyncpg, its parameter names in `$n` order and the
    values of the parameters the statement carries itself (literals such as `Archived`)."""
    compiled = statement.compile(dialect=dialect)
    return compiled.string, tuple(compiled.positiontup or ()), dict(compiled.params)


def _driver_value(value: Any) -> Any:
    """A bound value as UTCDateTime would bind it on PostgreSQL (aware instants only)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime given to a UTC column")
        return value.astimezone(UTC)
    return value


async def driver_rows(
    conn: AsyncConnection, statement: Select[Any], params: dict[str, Any]
) -> Sequence[Sequence[Any]]:
    """Rows of a prebuilt statement straight from asyncpg's records (PostgreSQL only).

    For statements whose columns need no conversion, or that convert their own (asyncpg
    hands back aware UTC instants; JSON columns come as text): skipping SQLAlchemy's result
    processing and Row objects spares a sixth of the list's server CPU.
    """
    sql, names, carried = _driver_sql(statement, conn.dialect)
    values = {**carried, **params}
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    rows = await driver.fetch(sql, *(_driver_value(values[name]) for name in names))
    return rows  # type: ignore[no-any-return]


class CertificateReads:
    """Certificate reads on one connection (a session's, or a transaction-less one)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, certificate_id: str) -> ManagedCertificate | None:
        """The certificate with its target ids, or None."""
        result = await self.conn.execute(_BY_ID, {"certificate_id": certificate_id})
        found = grouped(result.all())
        return found[0] if found else None

    async def page(
        self, *, request: PageRequest, sort: SortKey, filters: CertificateFilter
    ) -> Page[ManagedCertificate]:
        """One page of the certificates matching `filters`, with the true total."""
        rows, total = await self._page_rows(request, sort, filters)
        return Page(items=grouped(rows), total=total, page=request.page, per_page=request.per_page)

    async def page_records(
        self, *, request: PageRequest, sort: SortKey, filters: CertificateFilter
    ) -> Page[dict[str, Any]]:
        """The same page as records: FIELDS, then `target_ids`, values as the rows hold them."""
        rows, total = await self._page_rows(request, sort, filters)
        return Page(items=_records(rows), total=total, page=request.page, per_page=request.per_page)

    async def _page_rows(
        self, request: PageRequest, sort: SortKey, filters: CertificateFilter
    ) -> tuple[Sequence[Sequence[Any]], int]:
        """The page's rows (one per target link) and the filtered total."""
        shape, params = shape_and_params(filters)
        paged = {**params, "page_offset": request.offset, "page_limit": request.per_page}
        statement = _page_statement(shape, sort)
        if self.conn.dialect.name == "postgresql":
            rows = await driver_rows(self.conn, statement, paged)
        else:
            rows = (await self.conn.execute(statement, paged)).all()
        if rows:
            count = int(rows[0][-2])
        elif request.offset == 0:
            count = 0  # nothing matches at all
        else:  # past the last page: the joined statement returned no row to carry the total
            count = int(await self.conn.scalar(count_statement(shape), params) or 0)
        return rows, count
