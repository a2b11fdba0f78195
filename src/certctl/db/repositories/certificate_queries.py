"""What certificate reads select and how a filter becomes SQL: the columns in the API's
order, a filter's shape (which filters are set) and bind parameters, WHERE and ORDER BY.

Statements are built once per shape and cached: building one costs more CPU than running a
cached one, and the compiled form is then found in SQLAlchemy's cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, String, bindparam, cast, func, or_, select

from certctl.db.models import CertificateStatusCountRow, ManagedCertificateRow
from certctl.domain.certificates import CertificateFilter, CertificateStatus
from certctl.domain.listing import SortKey

_TABLE = ManagedCertificateRow.__table__
_COUNTS = CertificateStatusCountRow.__table__

# Every stored field of ManagedCertificate, in the order certificate reads select them: also
# the order of a record's keys, which is the API's (CertificateOut) so that a list page encodes
# straight from the records.
FIELDS = (
    "id",
    "name",
    "common_name",
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
    "created_at",
    "updated_at",
)


def page_order(columns: Any, sort: SortKey) -> list[ColumnElement[Any]]:
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
class FilterShape:
    """Which filters a request sets (not their values): statements are built once per shape."""

    equals: tuple[str, ...]
    statuses: int
    include_archived: bool
    before: bool
    after: bool
    q: bool

    @property
    def by_status_only(self) -> bool:
        """Whether only the status (or the Archived default) narrows the rows: their count
        is then a sum of the per-status counts."""
        return not (self.equals or self.before or self.after or self.q)


def shape_and_params(f: CertificateFilter) -> tuple[FilterShape, dict[str, Any]]:
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
    shape = FilterShape(
        equals=equals,
        statuses=len(f.statuses),
        include_archived=f.include_archived,
        before=f.expires_before is not None,
        after=f.expires_after is not None,
        q=bool(f.q),
    )
    return shape, params


def _status_clauses(shape: FilterShape, status: ColumnElement[str]) -> list[ColumnElement[bool]]:
    """The status part of a shape's WHERE: the statuses named, else all but Archived unless
    Archived is asked for."""
    if shape.statuses:
        return [status.in_([bindparam(f"status_{i}") for i in range(shape.statuses)])]
    if not shape.include_archived:
        return [status != CertificateStatus.ARCHIVED.value]
    return []


def where_clauses(shape: FilterShape) -> list[ColumnElement[bool]]:
    """WHERE clauses of a shape, values as named bind parameters (Archived left out unless
    asked for or named)."""
    c = _TABLE.c
    clauses: list[ColumnElement[bool]] = [c[name] == bindparam(name) for name in shape.equals]
    clauses.extend(_status_clauses(shape, c.status))
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
    shape, params = shape_and_params(f)
    return where_clauses(shape), params


@lru_cache(maxsize=512)
def count_statement(shape: FilterShape) -> Select[Any]:
    """The number of certificates a shape matches.

    Narrowed by status alone, it is the sum of those statuses' delta rows (a few rows, kept
    by triggers and folded by the scheduler) rather than a count of every matching row.
    """
    if shape.by_status_only:
        total = cast(func.coalesce(func.sum(_COUNTS.c.delta), 0), BigInteger)
        return select(total).select_from(_COUNTS).where(*_status_clauses(shape, _COUNTS.c.status))
    return select(func.count()).select_from(_TABLE).where(*where_clauses(shape))


STATUS_COUNTS = (
    select(_COUNTS.c.status, cast(func.sum(_COUNTS.c.delta), BigInteger))
    .group_by(_COUNTS.c.status)
    .having(func.sum(_COUNTS.c.delta) != 0)
)
"""Certificates per status, from the delta rows."""
